"""BIO tag scheme: tag inventory, allowed transitions, constrained Viterbi decoding.

Pure functions over numpy arrays and strings; nothing here knows about spaCy
pipelines, so the decoding rules are easy to test in isolation.

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


def length_buckets(lengths: Sequence[int], max_padding: float = 0.5) -> List[List[int]]:
    """Group sequence indices by length so that padding each group to its longest
    member wastes at most ``max_padding`` of the group's cells (plus a small slack):
    a long document never pads a batch of short ones."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: List[List[int]] = []
    current: List[int] = []
    n_tokens = 0
    for i in order:
        padded = (len(current) + 1) * lengths[i]
        if current and padded > (1 + max_padding) * (n_tokens + lengths[i]) + 64:
            buckets.append(current)
            current, n_tokens = [], 0
        current.append(i)
        n_tokens += lengths[i]
    if current:
        buckets.append(current)
    return buckets


def viterbi_decode(
    scores: Sequence[numpy.ndarray],
    transitions: numpy.ndarray,
    start: numpy.ndarray,
    transition_scores: Optional[numpy.ndarray] = None,
    start_scores: Optional[numpy.ndarray] = None,
    end_scores: Optional[numpy.ndarray] = None,
) -> List[numpy.ndarray]:
    """Best tag sequence per document under hard BIO constraints.

    scores: one ``(n_tokens, n_tags)`` array of log-scores (e.g. log-probabilities)
        per document.
    transitions, start: boolean masks from :func:`allowed_transitions`.
    transition_scores, start_scores, end_scores: optional learned scores (e.g. a CRF's,
        numpy or cupy) of ``prev -> next`` transitions ``(n_tags, n_tags)``, first tags and
        last tags ``(n_tags,)``, added to the path score within the constraints.
    Returns one int array of tag ids per document. Documents of similar length are
    decoded together (vectorised over documents and tags, looping over time steps),
    so memory stays linear in the number of tokens.
    """
    paths: List[numpy.ndarray] = [numpy.zeros((0,), dtype="int64")] * len(scores)
    n_tags = transitions.shape[0]
    trans_penalty = numpy.where(transitions, 0.0, NEG_INF).astype("float32")
    start_penalty = numpy.where(start, 0.0, NEG_INF).astype("float32")
    end_penalty = numpy.zeros((n_tags,), dtype="float32")
    if transition_scores is not None:
        trans_penalty += _as_numpy(transition_scores).astype("float32")
    if start_scores is not None:
        start_penalty += _as_numpy(start_scores).astype("float32")
    if end_scores is not None:
        end_penalty += _as_numpy(end_scores).astype("float32")
    lengths = [len(doc_scores) for doc_scores in scores]
    for bucket in length_buckets(lengths):
        max_len = max(lengths[i] for i in bucket)
        if max_len == 0:
            continue
        padded = numpy.zeros((len(bucket), max_len, n_tags), dtype="float32")
        for row, i in enumerate(bucket):
            padded[row, : lengths[i]] = scores[i]
        bucket_lengths = [lengths[i] for i in bucket]
        decoded = _viterbi_padded(padded, bucket_lengths, trans_penalty, start_penalty, end_penalty)
        for row, path in enumerate(decoded):
            paths[bucket[row]] = path
    return paths


def _as_numpy(array) -> numpy.ndarray:
    """A numpy array from a numpy or cupy array."""
    return array.get() if hasattr(array, "get") and not isinstance(array, numpy.ndarray) else numpy.asarray(array)


def _viterbi_padded(
    scores: numpy.ndarray,
    lengths: Sequence[int],
    trans_penalty: numpy.ndarray,
    start_penalty: numpy.ndarray,
    end_penalty: numpy.ndarray,
) -> List[numpy.ndarray]:
    """Viterbi over a padded ``(n_docs, max_len, n_tags)`` batch; the penalties are
    added scores (``NEG_INF`` where forbidden)."""
    n_docs, max_len, n_tags = scores.shape
    lengths_arr = numpy.asarray(lengths, dtype="int64")
    backpointers = numpy.zeros((max_len, n_docs, n_tags), dtype="int32")
    best = scores[:, 0, :] + start_penalty
    arange_docs = numpy.arange(n_docs)
    for t in range(1, max_len):
        # candidate[d, prev, next]
        candidate = best[:, :, None] + trans_penalty[None, :, :]
        prev = candidate.argmax(axis=1)
        new_best = candidate[arange_docs[:, None], prev, numpy.arange(n_tags)[None, :]]
        new_best = new_best + scores[:, t, :]
        active = (t < lengths_arr)[:, None]
        best = numpy.where(active, new_best, best)
        backpointers[t] = prev
    # backtrack all documents at once, one time step at a time
    path = numpy.zeros((n_docs, max_len), dtype="int64")
    last = lengths_arr - 1
    path[arange_docs, last] = (best + end_penalty).argmax(axis=1)
    for t in range(max_len - 1, 0, -1):
        active = t <= last
        prev = backpointers[t, arange_docs, path[:, t]]
        path[:, t - 1] = numpy.where(active, prev, path[:, t - 1])
    paths = [path[d, : int(n)] for d, n in enumerate(lengths_arr)]
    return paths


def tag_ids_to_spans(tag_ids: Iterable[int], labels: Sequence[str]) -> List[Span]:
    """Entity spans from tag ids in the layout above.

    ``B-X`` opens an entity, ``I-X`` extends an open ``X`` entity. An ``I-X`` that does
    not continue an ``X`` entity never starts or corrupts one: it is read as ``O``, the
    entity before it is closed and kept, and the rest of the document is unaffected.
    Vectorised: tokens are cut into segments at every tag that does not continue the
    previous one; a segment is an entity when it starts with a ``B-X``.
    """
    tags = numpy.asarray(list(tag_ids), dtype="int64")
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
