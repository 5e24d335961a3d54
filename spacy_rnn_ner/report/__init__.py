"""Evaluation report (``report`` command), system comparison (``compare``) and decoding
comparison (``compare-decoding``). The commands themselves live in :mod:`spacy_rnn_ner.cli`.
"""
