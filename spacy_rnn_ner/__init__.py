"""spacy-rnn-ner: recurrent-network (RNN / GRU / LSTM) named-entity recognition for spaCy."""
from .architectures import (
    build_char_cnn,
    build_lexicon_features,
    build_rnn_tagger,
    build_token_features,
)
from .pipeline_component import RNNEntityRecognizer, make_rnn_ner
from .report.tracking import make_tracking_logger  # registers spacy_rnn_ner.TrackingLogger.v1

__version__ = "0.1.0"
__all__ = [
    "RNNEntityRecognizer",
    "make_rnn_ner",
    "build_rnn_tagger",
    "build_token_features",
    "build_char_cnn",
    "build_lexicon_features",
    "make_tracking_logger",
]
