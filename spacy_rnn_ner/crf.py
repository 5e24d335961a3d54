"""Linear-chain CRF over BIO tags: negative log-likelihood with gradients, marginals,
decoding with learned transition scores.

Pure functions over arrays of one array module ``xp`` (numpy, or cupy when given cupy
arrays); nothing here knows about spaCy pipelines. Emissions are one flat
``(n_tokens, n_tags)`` array of unnormalised scores, cut into sequences (sentence
segments, in order) by ``lengths``. A path ``y`` of a sequence scores
``start[y0] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_last]``;
transitions and first tags not allowed by BIO (:func:`bio.allowed_transitions`) get
``NEG_INF``: they take no part in any sum and their gradients are zero.

Sequences of similar length are padded into buckets (:func:`bio.length_buckets`) and run
together: log-space forward-backward, vectorised over sequences and tags, looping over
time only. Forward and backward messages are shifted by their maximum at every step, so
float32 emissions are safe for long sequences; the log-normalisers add up in float64.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy
from thinc.util import get_array_module

from .bio import NEG_INF, _as_numpy as _to_numpy, allowed_transitions, length_buckets, viterbi_decode


class CRFParams(NamedTuple):
    """Initial CRF parameters and BIO masks for ``n_tags = 1 + 2 * n_labels`` tags."""

    transitions: numpy.ndarray  # (n_tags, n_tags) float, prev -> next
    start: numpy.ndarray  # (n_tags,) float
    end: numpy.ndarray  # (n_tags,) float
    allowed: numpy.ndarray  # (n_tags, n_tags) bool
    allowed_start: numpy.ndarray  # (n_tags,) bool


class CRFLoss(NamedTuple):
    """Summed (weighted) NLL and its gradients; ``d_end`` is None without end scores."""

    loss: float
    d_emissions: numpy.ndarray
    d_transitions: numpy.ndarray
    d_start: numpy.ndarray
    d_end: Optional[numpy.ndarray]


def init_transitions(n_labels: int, dtype: str = "float32") -> CRFParams:
    """Zero transition/start/end scores and the BIO masks for ``n_labels`` labels."""
    allowed, allowed_start = allowed_transitions(n_labels)
    n_tags = allowed.shape[0]
    return CRFParams(
        numpy.zeros((n_tags, n_tags), dtype=dtype),
        numpy.zeros((n_tags,), dtype=dtype),
        numpy.zeros((n_tags,), dtype=dtype),
        allowed,
        allowed_start,
    )


def crf_nll(
    emissions,
    lengths: Sequence[int],
    gold,
    transitions,
    start_scores,
    end_scores=None,
    allowed: Optional[numpy.ndarray] = None,
    allowed_start: Optional[numpy.ndarray] = None,
    weights=None,
) -> CRFLoss:
    """Negative log-likelihood of the gold paths, summed over sequences, and gradients.

    gold: ``(n_tokens,)`` tag ids; ``-1`` marks a token whose tag is unknown: it is
        latent (the numerator sums over its tags, within BIO constraints).
    weights: optional ``(n_sequences,)`` factors for each sequence's loss and gradients.
    allowed, allowed_start: BIO masks; by default those of ``(n_tags - 1) // 2`` labels.
    Gradients are (weighted) marginals minus gold-constrained marginals, i.e. expected
    counts minus gold counts when every gold tag is known. Raises ValueError when a known
    gold pair breaks the BIO rules (see :func:`repair_bio`).
    """
    xp = get_array_module(emissions)
    n_tokens, n_tags = emissions.shape
    lengths_np = _check_lengths(lengths, n_tokens)
    allowed, allowed_start = _masks(allowed, allowed_start, n_tags)
    gold_np = _to_numpy(gold).astype("int64").reshape(-1)
    _check_gold(gold_np, lengths_np, n_tags, allowed, allowed_start)
    n_seqs = len(lengths_np)
    w = xp.ones((n_seqs,), dtype="float64") if weights is None else xp.asarray(weights, dtype="float64")
    if w.shape != (n_seqs,):
        raise ValueError(f"crf_nll: got {w.shape[0]} weights for {n_seqs} sequences.")
    dtype = emissions.dtype
    A, s, e = _scores(xp, dtype, transitions, start_scores, end_scores, allowed, allowed_start)
    gold_xp = xp.asarray(gold_np)
    d_em = xp.zeros_like(emissions)
    d_A = xp.zeros((n_tags, n_tags), dtype=dtype)
    d_s = xp.zeros((n_tags,), dtype=dtype)
    d_e = xp.zeros((n_tags,), dtype=dtype)
    loss = 0.0
    tag_ids = xp.arange(n_tags)
    for seqs, index, mask, rows, cols in _buckets(lengths_np):
        n = len(seqs)
        index_xp, mask_xp = xp.asarray(index), xp.asarray(mask)
        E = emissions[index_xp]
        g = gold_xp[index_xp]
        clamp = ((g >= 0) & mask_xp)[:, :, None] & (tag_ids != g[:, :, None])
        # first half: partition function; second half: gold-constrained partition
        E2 = xp.concatenate([E, xp.where(clamp, dtype.type(NEG_INF), E)])
        L2 = numpy.concatenate([lengths_np[seqs]] * 2)
        mask2 = xp.concatenate([mask_xp, mask_xp])
        log_z, alpha, beta = _forward_backward(xp, E2, L2, A, s, e)
        w_seqs = w[xp.asarray(seqs)]
        sign = xp.concatenate([w_seqs, -w_seqs])
        loss += float((sign * log_z).sum())
        sign = sign.astype(dtype)
        p = _softmax(xp, alpha + beta, axes=(2,)) * (sign[:, None] * mask2)[:, :, None]
        d_pad = p[:n] + p[n:]
        rows_xp, cols_xp = xp.asarray(rows), xp.asarray(cols)
        d_em[xp.asarray(index[rows, cols])] = d_pad[rows_xp, cols_xp]
        d_s += p[:, 0].sum(axis=0)
        d_e += p[xp.arange(2 * n), xp.asarray(L2 - 1)].sum(axis=0)
        if E2.shape[1] > 1:
            d_A += _edge_counts(xp, alpha, beta, E2, A, sign[:, None] * mask2[:, 1:])
    d_A *= xp.asarray(allowed)
    d_s *= xp.asarray(allowed_start)
    return CRFLoss(loss, d_em, d_A, d_s, None if end_scores is None else d_e)


def crf_log_partition(
    emissions,
    lengths: Sequence[int],
    transitions,
    start_scores,
    end_scores=None,
    allowed: Optional[numpy.ndarray] = None,
    allowed_start: Optional[numpy.ndarray] = None,
    gold=None,
):
    """Log partition function per sequence (float64, ``(n_sequences,)``); with ``gold``,
    the sum runs only over paths that agree with the known gold tags."""
    xp = get_array_module(emissions)
    n_tokens, n_tags = emissions.shape
    lengths_np = _check_lengths(lengths, n_tokens)
    allowed, allowed_start = _masks(allowed, allowed_start, n_tags)
    A, s, e = _scores(xp, emissions.dtype, transitions, start_scores, end_scores, allowed, allowed_start)
    out = xp.zeros((len(lengths_np),), dtype="float64")
    for seqs, index, mask, _, _ in _buckets(lengths_np):
        E = emissions[xp.asarray(index)]
        if gold is not None:
            g = xp.asarray(gold)[xp.asarray(index)]
            clamp = ((g >= 0) & xp.asarray(mask))[:, :, None] & (xp.arange(n_tags) != g[:, :, None])
            E = xp.where(clamp, emissions.dtype.type(NEG_INF), E)
        out[xp.asarray(seqs)] = _forward(xp, E, lengths_np[seqs], A, s, e)[0]
    return out


def crf_marginals(
    emissions,
    lengths: Sequence[int],
    transitions,
    start_scores,
    end_scores=None,
    allowed: Optional[numpy.ndarray] = None,
    allowed_start: Optional[numpy.ndarray] = None,
):
    """Posterior probability of each tag at each token, ``(n_tokens, n_tags)``."""
    xp = get_array_module(emissions)
    n_tokens, n_tags = emissions.shape
    lengths_np = _check_lengths(lengths, n_tokens)
    allowed, allowed_start = _masks(allowed, allowed_start, n_tags)
    A, s, e = _scores(xp, emissions.dtype, transitions, start_scores, end_scores, allowed, allowed_start)
    out = xp.zeros_like(emissions)
    for seqs, index, mask, rows, cols in _buckets(lengths_np):
        _, alpha, beta = _forward_backward(xp, emissions[xp.asarray(index)], lengths_np[seqs], A, s, e)
        p = _softmax(xp, alpha + beta, axes=(2,))
        out[xp.asarray(index[rows, cols])] = p[xp.asarray(rows), xp.asarray(cols)]
    return out


def crf_decode(
    emissions,
    lengths: Sequence[int],
    transitions,
    start_scores,
    end_scores=None,
    allowed: Optional[numpy.ndarray] = None,
    allowed_start: Optional[numpy.ndarray] = None,
) -> List[numpy.ndarray]:
    """Best allowed path per sequence (numpy int arrays), via :func:`bio.viterbi_decode`."""
    flat = _to_numpy(emissions)
    n_tokens, n_tags = flat.shape
    lengths_np = _check_lengths(lengths, n_tokens)
    allowed, allowed_start = _masks(allowed, allowed_start, n_tags)
    pieces = numpy.split(flat, numpy.cumsum(lengths_np)[:-1]) if len(lengths_np) else []
    return viterbi_decode(
        pieces, allowed, allowed_start,
        transition_scores=transitions, start_scores=start_scores, end_scores=end_scores,
    )


def repair_bio(gold, lengths: Sequence[int]) -> Tuple[numpy.ndarray, int]:
    """Gold tag ids with every ``I-X`` that cannot follow its predecessor (a sequence
    start, or a known tag other than ``B-X``/``I-X``) turned into ``B-X``; and how many
    were changed. Unknown (-1) predecessors are left alone: the CRF can fill them in."""
    g = _to_numpy(gold).astype("int64").reshape(-1)
    lengths_np = _check_lengths(lengths, len(g))
    prev = numpy.concatenate([[-1], g[:-1]])
    starts = numpy.cumsum(lengths_np) - lengths_np
    prev[starts[lengths_np > 0]] = -2  # a sequence start: nothing may continue into it
    inside = (g > 0) & (g % 2 == 0)
    bad = inside & (prev != -1) & (prev != g) & (prev != g - 1)
    fixed = numpy.where(bad, g - 1, g)
    return fixed, int(bad.sum())


# Internals -------------------------------------------------------------------------


def _check_lengths(lengths: Sequence[int], n_tokens: int) -> numpy.ndarray:
    lengths_np = _to_numpy(lengths).astype("int64").reshape(-1)
    if (lengths_np < 0).any() or int(lengths_np.sum()) != n_tokens:
        raise ValueError(f"crf: sequence lengths sum to {int(lengths_np.sum())}, expected {n_tokens} tokens.")
    return lengths_np


def _masks(allowed, allowed_start, n_tags: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
    if allowed is None or allowed_start is None:
        if n_tags % 2 != 1:
            raise ValueError(f"crf: {n_tags} tags is not a BIO tag set (1 + 2 * n_labels).")
        default, default_start = allowed_transitions((n_tags - 1) // 2)
        allowed = default if allowed is None else allowed
        allowed_start = default_start if allowed_start is None else allowed_start
    return _to_numpy(allowed).astype(bool), _to_numpy(allowed_start).astype(bool)


def _scores(xp, dtype, transitions, start, end, allowed, allowed_start):
    """Learned scores with BIO-forbidden entries replaced by ``NEG_INF``."""
    neg = dtype.type(NEG_INF)
    A = xp.where(xp.asarray(allowed), xp.asarray(transitions, dtype=dtype), neg)
    s = xp.where(xp.asarray(allowed_start), xp.asarray(start, dtype=dtype), neg)
    e = xp.zeros((A.shape[0],), dtype=dtype) if end is None else xp.asarray(end, dtype=dtype)
    return A, s, e


def _check_gold(gold: numpy.ndarray, lengths: numpy.ndarray, n_tags: int, allowed, allowed_start) -> None:
    if gold.shape != (int(lengths.sum()),):
        raise ValueError(f"crf: got {gold.shape[0]} gold tags for {int(lengths.sum())} tokens.")
    if len(gold) and (gold.min() < -1 or gold.max() >= n_tags):
        raise ValueError(f"crf: gold tag ids must lie in -1..{n_tags - 1}, got {gold.min()}..{gold.max()}.")
    starts = (numpy.cumsum(lengths) - lengths)[lengths > 0]
    first = numpy.zeros((len(gold),), dtype=bool)
    first[starts] = True
    g = numpy.where(gold >= 0, gold, 0)
    prev = numpy.concatenate([[0], g[:-1]])
    known_pair = (gold >= 0) & numpy.concatenate([[False], gold[:-1] >= 0]) & ~first
    bad = (known_pair & ~allowed[prev, g]) | (first & (gold >= 0) & ~allowed_start[g])
    if bad.any():
        t = int(numpy.flatnonzero(bad)[0])
        seq = int(numpy.searchsorted(numpy.cumsum(lengths), t, side="right"))
        what = "a sequence start" if first[t] else f"tag {int(gold[t - 1])}"
        raise ValueError(
            f"crf: gold of sequence {seq}, token {t - int(starts[starts <= t][-1])} (tag {int(gold[t])}) "
            f"cannot follow {what} under BIO ({int(bad.sum())} such tokens); "
            "fix the gold with crf.repair_bio or mark the tokens unknown (-1)."
        )


def _buckets(lengths: numpy.ndarray):
    """Per bucket of non-empty sequences of similar length: the sequence ids, the
    ``(n, max_len)`` token index (clamped in the padding) and mask, and the
    ``(row, col)`` of every real token."""
    nonempty = numpy.flatnonzero(lengths > 0)
    offsets = numpy.cumsum(lengths) - lengths
    for bucket in length_buckets(lengths[nonempty].tolist()):
        seqs = nonempty[bucket]
        lens = lengths[seqs]
        steps = numpy.arange(int(lens.max()))
        mask = steps[None, :] < lens[:, None]
        index = offsets[seqs][:, None] + numpy.minimum(steps[None, :], lens[:, None] - 1)
        rows, cols = numpy.nonzero(mask)
        yield seqs, index, mask, rows, cols


def _logsumexp(xp, x, axis: int):
    m = x.max(axis=axis, keepdims=True)
    return (xp.log(xp.exp(x - m).sum(axis=axis, keepdims=True)) + m).squeeze(axis)


def _softmax(xp, x, axes: Tuple[int, ...]):
    y = xp.exp(x - x.max(axis=axes, keepdims=True))
    return y / y.sum(axis=axes, keepdims=True)


def _forward(xp, E, lengths: numpy.ndarray, A, s, e):
    """Max-shifted forward messages ``(n, T, K)`` and log partition per sequence."""
    n, T, K = E.shape
    alpha = xp.empty_like(E)
    a = s[None, :] + E[:, 0]
    c = a.max(axis=1, keepdims=True)
    a = a - c
    log_norm = c[:, 0].astype("float64")
    alpha[:, 0] = a
    active = xp.asarray(numpy.arange(T)[None, :] < lengths[:, None])
    for t in range(1, T):
        new = _logsumexp(xp, a[:, :, None] + A[None], axis=1) + E[:, t]
        c = new.max(axis=1, keepdims=True)
        act = active[:, t : t + 1]
        a = xp.where(act, new - c, a)
        log_norm += xp.where(act[:, 0], c[:, 0], 0).astype("float64")
        alpha[:, t] = a
    log_z = log_norm + _logsumexp(xp, a + e[None, :], axis=1).astype("float64")
    return log_z, alpha


def _forward_backward(xp, E, lengths: numpy.ndarray, A, s, e):
    """Log partition, forward and backward messages (each shifted by a per-position
    constant: marginals are softmaxes of their sums)."""
    log_z, alpha = _forward(xp, E, lengths, A, s, e)
    n, T, K = E.shape
    beta = xp.empty_like(E)
    b = xp.broadcast_to(e[None, :], (n, K))
    beta[:, T - 1] = b
    before_last = xp.asarray(numpy.arange(T)[None, :] < (lengths[:, None] - 1))
    for t in range(T - 2, -1, -1):
        new = _logsumexp(xp, A[None] + (E[:, t + 1] + b)[:, None, :], axis=2)
        new = new - new.max(axis=1, keepdims=True)
        b = xp.where(before_last[:, t : t + 1], new, e[None, :])
        beta[:, t] = b
    return log_z, alpha, beta


def _edge_counts(xp, alpha, beta, E, A, weight):
    """``sum_{seq, t} weight[seq, t-1] * P(y_{t-1}=k, y_t=j)`` as a ``(K, K)`` array."""
    x = alpha[:, :-1, :, None] + A[None, None] + (E[:, 1:] + beta[:, 1:])[:, :, None, :]
    xi = _softmax(xp, x, axes=(2, 3))
    return xp.tensordot(weight, xi, axes=([0, 1], [0, 1]))
