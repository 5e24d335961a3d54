"""spacy-rnn-ner: recurrent-network (RNN / GRU / LSTM) named-entity recognition for spaCy.

This module only registers what the entry points load (the factory, architectures, the
MLflow logger). The layout, imports running downward only (cli -> tooling -> core; checked
by tests/test_layout.py):

- core (base dependencies only): ``pipeline_component`` (the ``rnn_ner`` component),
  ``architectures`` (registered builders), ``layers/`` (thinc layers: token features,
  packed RNN, CRF, tagger), ``bio`` (BIO tags, constrained Viterbi), ``scorer``, ``corpus``,
  ``label_weights``, ``errors``, ``io`` (every file read or written)
- tooling, each importing its optional package lazily: ``converters/`` (ner-uk brat,
  CoNLL, Hugging Face, NeMo), ``annotate/`` (local, Ray), ``report/`` (metrics, plots,
  comparisons, MLflow tracking), ``resources/`` (Ukrainian word lists, pretraining text,
  floret vectors, char-LM training)
- ``cli/``: the typer commands of ``python -m spacy_rnn_ner`` (one module per command)
"""
from .startup import quiet_startup_interrupts

quiet_startup_interrupts()  # python -m spacy_rnn_ner: Ctrl-C during the imports below is one line

from .architectures import (  # noqa: E402
    build_char_cnn,
    build_lexicon_features,
    build_rnn_tagger,
    build_token_features,
)
from .pipeline_component import RNNEntityRecognizer, make_rnn_ner
from .callbacks import make_torch_threads
from .sentencizer import AbbrevSentencizer, make_abbrev_sentencizer
from .report.tracking import make_tracking_logger  # registers spacy_rnn_ner.TrackingLogger.v1 (MLflow only when on)

__version__ = "0.1.0"
__all__ = [
    "RNNEntityRecognizer",
    "make_rnn_ner",
    "build_rnn_tagger",
    "build_token_features",
    "build_char_cnn",
    "build_lexicon_features",
    "make_tracking_logger",
    "AbbrevSentencizer",
    "make_abbrev_sentencizer",
    "make_torch_threads",
]
