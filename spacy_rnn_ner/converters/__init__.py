"""Data converters to spaCy DocBin (``.spacy``): ner-uk brat, CoNLL, Hugging Face
datasets, NVIDIA NeMo text/labels (both ways). Pure functions: paths/objects in, Docs or
files out, with a :class:`ConversionReport` of what was read, written and dropped.

Command line: ``python -m spacy_rnn_ner convert FORMAT ...`` (see :mod:`spacy_rnn_ner.cli.convert`).
"""
from .brat import (
    brat_raw_to_doc,
    brat_tok_to_doc,
    find_ner_uk_dir,
    read_ann,
    read_split_file,
    split_dev,
)
from .conll import check_tag, convert_conll, doc_to_sentences, read_conll, sentences_to_doc
from .hf import convert_hf, hf_to_docs, load_hf, parse_split_map
from .ner_uk import convert_ner_uk, load_ner_uk
from .nemo import convert_nemo, convert_to_nemo, read_nemo, write_nemo
from ..io import load_docbin, read_docbin
from .report import ConversionError, ConversionReport, Issue, write_docbin

__all__ = [
    "ConversionError",
    "ConversionReport",
    "Issue",
    "brat_raw_to_doc",
    "brat_tok_to_doc",
    "check_tag",
    "convert_conll",
    "convert_hf",
    "convert_ner_uk",
    "convert_nemo",
    "convert_to_nemo",
    "doc_to_sentences",
    "find_ner_uk_dir",
    "hf_to_docs",
    "load_docbin",
    "load_hf",
    "load_ner_uk",
    "parse_split_map",
    "read_ann",
    "read_conll",
    "read_docbin",
    "read_nemo",
    "read_split_file",
    "sentences_to_doc",
    "split_dev",
    "write_docbin",
    "write_nemo",
]
