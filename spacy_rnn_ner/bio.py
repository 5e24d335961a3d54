"""BIO tag scheme: tag inventory, allowed transitions, spans, gold repair.

Pure functions over numpy arrays and strings; nothing here knows about spaCy
pipelines. The constrained Viterbi decoding runs in torch on the model's device
(:mod:`layers.crf`).

Tag layout for labels ``L1..Ln`` (sorted): ``["O", "B-L1", "I-L1", ..., "B-Ln", "I-Ln"]``,
so tag ``2*k+1`` begins label ``k`` and ``2*k+2`` continues it.
"""
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy

OUTSIDE = "O"
NEG_INF = -1e30

Span = Tuple[int, int, str]  # (start token, end token exclusive, label)


def make_tag_names(labels: Sequence[str]) -> List[str]:
    """The BIO tag inventory for ``labels``, in the layout described above."""
    tags = [OUTSIDE]
    for label in labels:
        tags.extend((f"B-{label}", f"I-{label}"))
    return tags


def allowed_transitions(n_labels: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Boolean ``(n_tags, n_tags)`` matrix of allowed ``prev -> next`` transitions and a
    boolean ``(n_tags,)`` vector of allowed first tags.

    ``I-X`` may only follow ``B-X`` or ``I-X``; everything else is free.
    """
    n_tags = 1 + 2 * n_labels
    trans = numpy.ones((n_tags, n_tags), dtype=bool)
    start = numpy.ones((n_tags,), dtype=bool)
    for k in range(n_labels):
        inside = 2 * k + 2
        trans[:, inside] = False
        trans[2 * k + 1, inside] = True
        trans[inside, inside] = True
        start[inside] = False
    return trans, start


def breaks_bio(gold, lengths: Sequence[int]) -> numpy.ndarray:
    """Per gold tag id (``-1``: unknown): whether it cannot follow what precedes it in its
    sequence (:func:`allowed_transitions`: an ``I-X`` at a sequence start or after a
    known tag other than ``B-X``/``I-X``). An unknown predecessor may be anything."""
    g = numpy.asarray(gold, dtype="int64").reshape(-1)
    lengths_np = numpy.asarray(lengths, dtype="int64").reshape(-1)
    allowed, allowed_start = allowed_transitions(int(g.max(initial=0)) // 2 + 1)
    first = numpy.zeros(g.shape, dtype=bool)
    first[(numpy.cumsum(lengths_np) - lengths_np)[lengths_np > 0]] = True
    known = g >= 0
    tag = numpy.where(known, g, 0)
    prev = numpy.concatenate([[0], tag[:-1]])
    after_known = numpy.concatenate([[False], known[:-1]]) & ~first
    return known & ((first & ~allowed_start[tag]) | (after_known & ~allowed[prev, tag]))


def repair_bio(gold, lengths: Sequence[int]) -> Tuple[numpy.ndarray, int]:
    """Gold tag ids with every ``I-X`` that breaks BIO (:func:`breaks_bio`) turned into
    ``B-X``; and how many were changed. Unknown (-1) predecessors are left alone: the
    CRF can fill them in."""
    g = numpy.asarray(gold, dtype="int64").reshape(-1)
    bad = breaks_bio(g, lengths)
    return numpy.where(bad, g - 1, g), int(bad.sum())


def tag_ids_to_spans(tag_ids: Iterable[int], labels: Sequence[str]) -> List[Span]:
    """Entity spans from tag ids in the layout above.

    ``B-X`` opens an entity, ``I-X`` extends an open ``X`` entity. An ``I-X`` that does
    not continue an ``X`` entity never starts or corrupts one: it is read as ``O``, the
    entity before it is closed and kept, and the rest of the document is unaffected.
    Vectorised: tokens are cut into segments at every tag that does not continue the
    previous one; a segment is an entity when it starts with a ``B-X``.
    """
    tags = numpy.asarray(tag_ids if isinstance(tag_ids, numpy.ndarray) else list(tag_ids), dtype="int64")
    if len(tags) == 0:
        return []
    label_ids = (tags - 1) // 2
    previous = numpy.concatenate([[0], tags[:-1]])
    continues = (tags > 0) & (tags % 2 == 0) & (previous > 0) & ((previous - 1) // 2 == label_ids)
    starts = numpy.flatnonzero(~continues)
    ends = numpy.append(starts[1:], len(tags))
    is_entity = tags[starts] % 2 == 1
    return [
        (int(start), int(end), labels[int(label_ids[start])])
        for start, end in zip(starts[is_entity], ends[is_entity])
    ]


def biluo_to_bio(tag: Optional[str]) -> Optional[str]:
    """Map one BILUO tag (as from ``Example.get_aligned_ner``) to BIO.

    ``U-X``→``B-X``, ``L-X``→``I-X``; ``None`` (misaligned) and ``"-"`` (missing)
    become ``None``, meaning 'unknown, do not train on this token'.
    """
    if tag is None or tag == "-" or tag == "":
        return None
    if tag == OUTSIDE:
        return OUTSIDE
    prefix, label = tag.split("-", 1)
    return ("B-" if prefix in ("B", "U") else "I-") + label
