"""Flair-style character language models: training and the model file format."""
from .model import CharLanguageModel, CharLM, CharVocab, vocab_from_text

__all__ = ["CharLanguageModel", "CharLM", "CharVocab", "vocab_from_text"]
