"""Ukrainian resources the ner-uk project builds: word lists (:mod:`.lexicon_sources`,
:mod:`.morfologik`, :mod:`.lexicon_coverage`), pretraining text (:mod:`.text_sources`,
:mod:`.pretraining_text`), floret vectors (:mod:`.vectors`) and character language
models (:mod:`.char_lm`; the feature layer that uses them is in :mod:`spacy_rnn_ner.layers`).
Each module imports its optional package lazily. The commands live in :mod:`spacy_rnn_ner.cli`.
"""
