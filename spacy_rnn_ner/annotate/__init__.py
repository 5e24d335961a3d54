"""Annotate JSONL/TXT/Parquet/DocBin input with a trained pipeline: :mod:`.local` (one
process, ``n_process`` workers) and :mod:`.ray` (Ray Data, ``pip install spacy-rnn-ner[ray]``).
The command: ``python -m spacy_rnn_ner annotate`` (:mod:`spacy_rnn_ner.cli.annotate`).
"""
from .local import AnnotateError, Summary, annotate_file, read_records

__all__ = ["AnnotateError", "Summary", "annotate_file", "read_records"]
