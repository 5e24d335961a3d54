"""The ``rnn-ner`` command line, in spaCy's style: typer commands on one ``app``
(:mod:`._util`), one module per command.

    python -m spacy_rnn_ner COMMAND ...     (or: python -m spacy rnn-ner COMMAND ...)

Commands: convert {ner-uk,conll,hf,nemo,to-nemo}, report, compare, compare-decoding,
pretrain-text, vectors, train-char-lm, build-lexicons, lexicon-coverage, annotate, track. ``python -m spacy`` finds them through the ``spacy_cli`` entry
point (:mod:`.spacy_cli`).
"""
from . import annotate, compare, compare_decoding, convert, lexicons, pretrain_text, report, track, vectors  # noqa: F401
from . import train_char_lm  # noqa: F401
from ._util import app, run

__all__ = ["app", "run"]
