"""BIO decoding: constrained Viterbi never yields invalid sequences and is optimal."""
import itertools

import numpy
import pytest

from spacy_rnn_ner.bio import (
    allowed_transitions,
    biluo_to_bio,
    length_buckets,
    make_tag_names,
    tag_ids_to_spans,
    viterbi_decode,
)

LABELS = ["LOC", "MISC", "ORG", "PERS"]


def is_valid_bio(path, n_labels):
    trans, start = allowed_transitions(n_labels)
    if len(path) and not start[path[0]]:
        return False
    return all(trans[a, b] for a, b in zip(path[:-1], path[1:]))


def path_score(scores, path):
    return sum(scores[t, tag] for t, tag in enumerate(path))


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


@pytest.mark.parametrize("seed", range(20))
def test_viterbi_random_scores_always_valid(seed):
    rng = numpy.random.default_rng(seed)
    n_tags = 1 + 2 * len(LABELS)
    lengths = rng.integers(0, 40, size=7)
    lengths[0] = 0
    scores = [rng.normal(size=(int(n), n_tags)) * 5 for n in lengths]
    trans, start = allowed_transitions(len(LABELS))
    paths = viterbi_decode(scores, trans, start)
    assert [len(p) for p in paths] == list(lengths)
    for path in paths:
        assert is_valid_bio(path, len(LABELS))
        # every span is a proper entity: starts with B-X, continues with I-X only
        for start_i, end_i, label in tag_ids_to_spans(path, LABELS):
            assert path[start_i] == 2 * LABELS.index(label) + 1
            assert all(path[j] == path[start_i] + 1 for j in range(start_i + 1, end_i))


@pytest.mark.parametrize("seed", range(10))
def test_viterbi_matches_brute_force(seed):
    rng = numpy.random.default_rng(100 + seed)
    labels = ["A", "B"]
    n_tags = 5
    length = 5
    scores = rng.normal(size=(1, length, n_tags))
    trans, start = allowed_transitions(len(labels))
    [path] = viterbi_decode([scores[0]], trans, start)
    best = max(
        (p for p in itertools.product(range(n_tags), repeat=length) if is_valid_bio(p, 2)),
        key=lambda p: path_score(scores[0], p),
    )
    assert path_score(scores[0], path) == pytest.approx(path_score(scores[0], best))


def test_viterbi_independent_of_batch():
    rng = numpy.random.default_rng(3)
    trans, start = allowed_transitions(len(LABELS))
    docs = [rng.normal(size=(n, 9)) * 3 for n in (6, 0, 16, 6, 500, 1)]
    alone = [viterbi_decode([doc], trans, start)[0] for doc in docs]
    together = viterbi_decode(docs, trans, start)
    assert [list(p) for p in alone] == [list(p) for p in together]


def test_length_buckets_bound_padding():
    lengths = [5] * 300 + [5000, 0, 7, 4999]
    buckets = length_buckets(lengths)
    assert sorted(i for b in buckets for i in b) == list(range(len(lengths)))
    for bucket in buckets:
        tokens = sum(lengths[i] for i in bucket)
        assert len(bucket) * max(lengths[i] for i in bucket) <= 1.5 * tokens + 64


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
