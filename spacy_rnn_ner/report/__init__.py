"""Evaluation report (``report`` command), system comparison (``compare``), decoding
comparison (``compare-decoding``) and MLflow experiment tracking (:mod:`.tracking`, the
``spacy_rnn_ner.TrackingLogger.v1`` logger and the ``track`` command). The commands
themselves live in :mod:`spacy_rnn_ner.cli`.
"""
