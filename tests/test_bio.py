"""BIO tag scheme: tag layout, allowed transitions, spans, BILUO → BIO (the constrained
Viterbi is tested in test_crf.py)."""

from spacy_rnn_ner.bio import (
    allowed_transitions,
    biluo_to_bio,
    make_tag_names,
    tag_ids_to_spans,
)

LABELS = ["LOC", "MISC", "ORG", "PERS"]


def test_tag_names_layout():
    assert make_tag_names(["LOC", "PERS"]) == ["O", "B-LOC", "I-LOC", "B-PERS", "I-PERS"]


def test_allowed_transitions():
    trans, start = allowed_transitions(2)
    names = make_tag_names(["LOC", "PERS"])
    allowed = {(names[a], names[b]) for a in range(5) for b in range(5) if trans[a, b]}
    assert ("O", "I-LOC") not in allowed
    assert ("B-PERS", "I-LOC") not in allowed
    assert ("I-PERS", "I-LOC") not in allowed
    assert ("B-LOC", "I-LOC") in allowed and ("I-LOC", "I-LOC") in allowed
    assert ("I-LOC", "B-LOC") in allowed and ("I-PERS", "O") in allowed
    assert [names[i] for i in range(5) if start[i]] == ["O", "B-LOC", "B-PERS"]


def test_tag_ids_to_spans_orphan_inside_never_starts_or_corrupts():
    # O I-LOC B-PERS I-PERS I-LOC B-LOC I-LOC
    tags = [0, 2, 7, 8, 2, 1, 2]
    assert tag_ids_to_spans(tags, LABELS) == [(2, 4, "PERS"), (5, 7, "LOC")]


def test_tag_ids_to_spans_entity_at_end_and_adjacent():
    # B-LOC B-LOC I-LOC
    assert tag_ids_to_spans([1, 1, 2], LABELS) == [(0, 1, "LOC"), (1, 3, "LOC")]
    assert tag_ids_to_spans([], LABELS) == []


def test_biluo_to_bio():
    assert [biluo_to_bio(t) for t in ["U-LOC", "B-ORG", "I-ORG", "L-ORG", "O", "-", None]] == [
        "B-LOC", "B-ORG", "I-ORG", "I-ORG", "O", None, None,
    ]
