"""Linear-chain CRF over BIO tags: loss and marginals with torch on the model's device,
Viterbi on the host.

The learned scores are the params ``transitions`` ``(nO, nO)`` (prev -> next),
``start`` and ``end`` ``(nO,)`` of a thinc node named ``crf`` (the layout pipelines
were saved with). The loss and the marginals read them through torch (zero-copy on CPU
and, via DLPack, on GPU), so they run wherever the params live; gradients come from
torch's autograd and are added to the node with ``inc_grad``. Viterbi is a loop of tiny
steps over time, which numpy runs about 3x faster than torch on a CPU (and a GPU pays a
kernel launch per step): the emissions come to the host in one transfer.

Emissions are one flat ``(n_tokens, n_tags)`` array cut into sequences (sentence
segments, in order) by ``lengths``. A path ``y`` scores
``start[y0] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_last]``;
transitions and first tags that BIO forbids (:func:`bio.allowed_transitions`) score
``NEG_INF``. As in flair's CRF, the sequences are padded into ``(batch, time, n_tags)``,
longest first (the order kept once, in :class:`Padding`), and each step runs over the
sequences still going. Sums over paths run in float64: long documents stay exact.
"""
import sys
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy
import torch
from thinc.api import Model
from thinc.types import Floats2d
from thinc.util import torch2xp, xp2torch

from ..bio import NEG_INF, allowed_transitions, breaks_bio, repair_bio
from . import long_segments

PARAMS = ("transitions", "start", "end")


class Padding(NamedTuple):
    """Where the flat rows of the sequences go in a padded batch, longest first."""

    index: torch.Tensor  # (batch, time): flat row of each position (0 past the end)
    mask: torch.Tensor  # (batch, time): positions inside their sequence
    sorted_indices: torch.Tensor  # (batch,): which sequence (of ``lengths``) each row is
    batch_sizes: List[int]  # per time step, the rows still going (the first ones)
    n_tokens: int

    def pad(self, flat: torch.Tensor) -> torch.Tensor:
        """``(..., n_tokens, n)`` flat rows as ``(..., batch, time, n)``."""
        return flat[..., self.index, :]

    def unpad(self, padded: torch.Tensor) -> torch.Tensor:
        """``(batch, time, ...)`` back to the flat rows ``(n_tokens, ...)``."""
        flat = padded.new_empty((self.n_tokens,) + padded.shape[2:])
        flat[self.index[self.mask]] = padded[self.mask]
        return flat


def padding_of(lengths: numpy.ndarray, device) -> Padding:
    """The padded layout of sequences of ``lengths`` (host, positive)."""
    lengths = numpy.asarray(lengths, dtype="int64")
    order = numpy.argsort(-lengths, kind="stable")
    starts = (numpy.cumsum(lengths) - lengths)[order]
    sorted_lengths = lengths[order]
    steps = numpy.arange(sorted_lengths[0] if len(order) else 0)
    mask = steps[None, :] < sorted_lengths[:, None]
    index = numpy.where(mask, starts[:, None] + steps[None, :], 0)
    return Padding(
        torch.as_tensor(index, device=device), torch.as_tensor(mask, device=device),
        torch.as_tensor(order, device=device), mask.sum(axis=0).tolist(), int(lengths.sum()),
    )


class CRFScores(NamedTuple):
    """Learned scores with BIO-forbidden entries at ``NEG_INF``, as torch tensors."""

    transitions: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor


def masked_scores(
    n_tags: int, transitions=None, start=None, end=None, *, dtype=torch.float32, device=None
) -> CRFScores:
    """Learned scores (zeros where None) with BIO-forbidden entries set to ``NEG_INF``
    (so they take no part in any sum and get no gradient)."""
    allowed, allowed_start = (torch.as_tensor(m, device=device) for m in allowed_transitions((n_tags - 1) // 2))
    zeros = torch.zeros((n_tags,), dtype=dtype, device=device)
    A = torch.zeros((n_tags, n_tags), dtype=dtype, device=device) if transitions is None else transitions.to(dtype)
    s = zeros if start is None else start.to(dtype)
    e = zeros if end is None else end.to(dtype)
    return CRFScores(A.masked_fill(~allowed, NEG_INF), s.masked_fill(~allowed_start, NEG_INF), e)


# The thinc node ------------------------------------------------------------------


def crf_layer(nO: Optional[int] = None) -> Model:
    """The node holding the CRF's learned scores for ``nO = 1 + 2 * n_labels`` BIO
    tags, initialised to zero. The tagger's loss and decoding read its params
    (:func:`crf_loss`, :func:`crf_decode`); it is never called."""
    return Model("crf", no_forward, init=_init, dims={"nO": nO}, params={name: None for name in PARAMS})


def no_forward(model: Model, X, is_train: bool):
    """The forward of a node that only holds params or layers (never called)."""
    raise NotImplementedError(f"{model.name} only holds params or layers; it has no forward.")


def _init(model: Model, X=None, Y=None) -> None:
    n_tags = model.get_dim("nO")
    if n_tags < 1 or n_tags % 2 != 1:
        raise ValueError(f"crf layer: nO={n_tags} is not a BIO tag count (1 + 2 * n_labels).")
    model.set_param("transitions", model.ops.alloc2f(n_tags, n_tags))
    model.set_param("start", model.ops.alloc1f(n_tags))
    model.set_param("end", model.ops.alloc1f(n_tags))


def resized_crf_layer(old: Model, n_tags: int) -> Model:
    """A new crf node for ``n_tags`` tags (labels appended at the end) with the learned
    scores of the old tags; new entries start at zero. A new node, so the optimizer's
    state for the old shapes is not reused."""
    n_old = old.get_dim("nO")
    if n_tags < n_old:
        raise ValueError(f"crf layer: cannot shrink from {n_old} to {n_tags} tags.")
    new = crf_layer(n_tags)
    new.initialize()
    for name in PARAMS:
        value = new.get_param(name)
        value[(slice(0, n_old),) * value.ndim] = old.get_param(name)
        new.set_param(name, value)
    return new


# Thinc-facing functions ------------------------------------------------------------


def crf_loss(
    crf: Model, emissions: Floats2d, lengths: Sequence[int], gold: numpy.ndarray,
    weights: Optional[numpy.ndarray] = None, scale: float = 1.0,
) -> Tuple[float, Floats2d]:
    """Weighted negative log-likelihood of the gold tag ids (host; ``-1``: unknown,
    summed over) of the sequences of flat ``emissions``, times ``scale``. Adds the
    gradients of ``crf``'s params (``inc_grad``) and returns ``(loss, d_emissions)``."""
    gold = numpy.asarray(gold, dtype="int64").reshape(-1)
    lengths = check_lengths(lengths, emissions.shape[0])
    check_gold(gold, lengths, emissions.shape[1])
    E = xp2torch(emissions, requires_grad=True)
    params = [xp2torch(crf.get_param(name), requires_grad=True, device=E.device) for name in PARAMS]
    w = None if weights is None else torch.as_tensor(numpy.asarray(weights, "float32"), device=E.device)
    with torch.enable_grad():
        loss = nll(E, lengths, torch.as_tensor(gold, device=E.device), *params, weights=w) * scale
        grads = torch.autograd.grad(loss, [E] + params, allow_unused=True, materialize_grads=True)
    for name, grad in zip(PARAMS, grads[1:]):
        crf.inc_grad(name, torch2xp(grad))
    return float(loss.detach()), torch2xp(grads[0])


def crf_decode(
    crf: Optional[Model], emissions: Floats2d, lengths: Sequence[int],
    outside_only: Optional[numpy.ndarray] = None, confidences: bool = True,
) -> Tuple[numpy.ndarray, Optional[numpy.ndarray]]:
    """Best BIO path of each sequence of flat ``emissions`` (flat host tag ids) and, with
    ``confidences``, the posterior probability of each chosen tag (the CRF's marginals,
    by forward-backward), else None. With ``crf`` None the emissions are tag
    probabilities: Viterbi over their logs under the BIO constraints alone, and the
    chosen tags' probabilities. ``outside_only``: tokens forced to ``O``. Runs on the
    host (one transfer of the emissions).

    A sequence longer than ``long_segments.MAX_LENGTH`` is decoded in the windows the
    RNN reads it in (each core with its context on both sides, all windows as one
    batch: a loop of ``MAX_LENGTH + 2 * CONTEXT`` steps, not one per token), each token
    taking the tags of its window's core; an ``I-X`` that a core boundary leaves after
    another tag becomes ``B-X``, so the path stays valid BIO."""
    lengths = check_lengths(lengths, emissions.shape[0])
    if emissions.shape[0] == 0:
        return numpy.zeros((0,), "int64"), (numpy.zeros((0,), "float32") if confidences else None)
    with torch.no_grad():
        # one transfer of the emissions: Viterbi and forward-backward are loops over time
        # steps of tiny operations, which numpy on the host runs several times faster
        # than torch (or a GPU)
        E = xp2torch(emissions).float().cpu()
        probs = E
        if crf is None:
            E = torch.log(E + 1e-8)
        if outside_only is not None and outside_only.any():
            E = E.clone()
            E[torch.as_tensor(outside_only), 1:] = NEG_INF
        params = [xp2torch(crf.get_param(name)).cpu() for name in PARAMS] if crf is not None else []
        calls = long_segments.plan_calls(lengths, long_segments.MAX_LENGTH, long_segments.CONTEXT, sys.maxsize)
        if not calls:
            return _best_paths(E, probs, lengths, params, confidences)
        window = calls[0]
        rows = torch.as_tensor(window.rows)
        tags_w, chosen_w = _best_paths(E[rows], probs[rows], window.lengths, params, confidences)
        tags = numpy.empty((E.shape[0],), dtype="int64")
        tags[window.tokens] = tags_w[window.out]
        tags, _ = repair_bio(tags, lengths)
        if chosen_w is None:
            return tags, None
        chosen = numpy.empty((E.shape[0],), dtype="float32")
        chosen[window.tokens] = chosen_w[window.out]
        return tags, chosen


def _best_paths(E: torch.Tensor, probs: torch.Tensor, lengths: numpy.ndarray, params: List[torch.Tensor],
                confidences: bool) -> Tuple[numpy.ndarray, Optional[numpy.ndarray]]:
    """:func:`crf_decode` of host log-space emissions ``E`` (``probs``: the
    probabilities without a CRF), sequence by sequence."""
    host = padding_of(lengths, "cpu")
    E_padded = host.pad(E).numpy()
    tags = host.unpad(torch.from_numpy(viterbi(E_padded, host.batch_sizes, masked_scores(E.shape[1], *params))))
    if not confidences:
        return tags.numpy(), None
    if params:
        scores = masked_scores(E.shape[1], *params, dtype=torch.float64)
        probs = host.unpad(torch.from_numpy(marginals(E_padded, host.batch_sizes, scores)))
    chosen = probs.gather(1, tags[:, None])[:, 0]
    return tags.numpy(), chosen.float().numpy()


def crf_marginals(crf: Optional[Model], emissions: Floats2d, lengths: Sequence[int]) -> numpy.ndarray:
    """Probability of every tag at every token, ``(n_tokens, n_tags)`` on the host: the
    CRF's marginals (forward-backward), or with ``crf`` None the emissions themselves
    (tag probabilities)."""
    lengths = check_lengths(lengths, emissions.shape[0])
    with torch.no_grad():
        E = xp2torch(emissions).float()
        if crf is None or E.shape[0] == 0:
            return E.cpu().numpy()
        scores = masked_scores(E.shape[1], *[xp2torch(crf.get_param(name)).cpu() for name in PARAMS],
                               dtype=torch.float64)
        host = padding_of(lengths, "cpu")
        marginals_padded = marginals(host.pad(E.cpu()).numpy(), host.batch_sizes, scores)
        return host.unpad(torch.from_numpy(marginals_padded)).float().numpy()


# Torch computations ---------------------------------------------------------------


def log_partition(E: torch.Tensor, batch_sizes: List[int], scores: CRFScores) -> torch.Tensor:
    """Log-sum over all allowed paths of each padded sequence: ``E`` ``(..., batch,
    time, n_tags)`` -> ``(..., batch)``."""
    alpha = scores.start + E[..., 0, :]
    for t, size in enumerate(batch_sizes[1:], start=1):
        step = torch.logsumexp(alpha[..., :size, :, None] + scores.transitions, dim=-2) + E[..., :size, t, :]
        alpha = torch.cat([step, alpha[..., size:, :]], dim=-2)  # ended sequences keep theirs
    return torch.logsumexp(alpha + scores.end, dim=-1)


def nll(
    E: torch.Tensor, lengths: numpy.ndarray, gold: torch.Tensor, transitions, start, end,
    weights: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Summed (weighted per sequence) negative log-likelihood of the gold paths, from
    flat emissions ``E``; a gold tag of ``-1`` is latent: the gold score sums over the
    paths through any of its tags. float64."""
    padding = padding_of(lengths, E.device)
    if not padding.batch_sizes:
        return E.sum().double() * 0.0
    n_tags = E.shape[-1]
    scores = masked_scores(n_tags, transitions, start, end, dtype=torch.float64, device=E.device)
    E = E.double()
    not_gold = (gold[:, None] >= 0) & (torch.arange(n_tags, device=E.device) != gold[:, None])
    log_z, log_z_gold = log_partition(padding.pad(torch.stack([E, E.masked_fill(not_gold, NEG_INF)])),
                                      padding.batch_sizes, scores)
    per_sequence = log_z - log_z_gold
    if weights is not None:
        per_sequence = per_sequence * weights[padding.sorted_indices]
    return per_sequence.sum()


def viterbi(E: numpy.ndarray, batch_sizes: List[int], scores: CRFScores) -> numpy.ndarray:
    """Best allowed path of each padded sequence, ``(batch, time)`` tag ids (0 past
    a sequence's end), from host emissions ``E`` ``(batch, time, n_tags)`` and host
    ``scores``."""
    transitions, start, end = (x.numpy() for x in scores)
    best = start + E[:, 0]
    backpointers = numpy.zeros((max(len(batch_sizes) - 1, 0),) + E.shape[::2], dtype=numpy.intp)
    for t, size in enumerate(batch_sizes[1:], start=1):
        candidates = best[:size, :, None] + transitions
        backpointers[t - 1, :size] = candidates.argmax(axis=1)
        best[:size] = candidates.max(axis=1) + E[:size, t]  # ended sequences keep theirs
    # back from each sequence's last tag (a row is first written at its last step)
    tag = (best + end).argmax(axis=1)
    path = numpy.zeros(E.shape[:2], dtype=numpy.int64)
    rows = numpy.arange(E.shape[0])
    for t in range(len(batch_sizes) - 1, 0, -1):
        size = batch_sizes[t]
        path[:size, t] = tag[:size]
        tag[:size] = backpointers[t - 1, rows[:size], tag[:size]]
    path[:, 0] = tag
    return path


def marginals(E: numpy.ndarray, batch_sizes: List[int], scores: CRFScores) -> numpy.ndarray:
    """Posterior probability of each tag at each position, ``(batch, time, n_tags)``
    (garbage past a sequence's end), from host emissions ``E`` ``(batch, time, n_tags)``
    and host ``scores``, by a forward-backward pass in the scores' dtype (float64 for
    long docs). Like :func:`viterbi`, a loop over time steps of tiny operations, which
    numpy runs several times faster than torch. It runs in probabilities, the scores
    shifted by their maxima and each step's forward messages normalised to sum to one
    (Rabiner's scaling), so ``alpha * beta`` is the marginal; in float64 exact while the
    scores of one step differ by less than about 700."""
    def exp(x: numpy.ndarray) -> numpy.ndarray:  # shifted by the maximum (a factor the norms absorb)
        return numpy.exp(x - x.max(axis=-1, keepdims=True))

    transitions, start, end = (x.numpy() for x in scores)
    weights = exp(transitions.reshape(-1)).reshape(transitions.shape)  # forbidden: 0
    P = exp(E.astype(transitions.dtype))
    alpha = numpy.zeros_like(P)  # the paths up to t ending in each tag, normalised at each t
    norms = numpy.ones(P.shape[:2], dtype=P.dtype)
    alpha[:, 0] = exp(start) * P[:, 0]
    norms[:, 0] = alpha[:, 0].sum(axis=-1)
    alpha[:, 0] /= norms[:, 0, None]
    for t, size in enumerate(batch_sizes[1:], start=1):
        step = (alpha[:size, t - 1] @ weights) * P[:size, t]
        norms[:size, t] = step.sum(axis=-1)
        alpha[:size, t] = step / norms[:size, t, None]
    # the paths from t on, over the same norms; at a sequence's last position the end
    # scores over their total with alpha there (the partition function over the norms)
    ends = exp(end)
    rows = numpy.arange(P.shape[0])
    lengths = (rows[:, None] < numpy.asarray(batch_sizes)).sum(axis=1)
    total = (alpha[rows, lengths - 1] * ends).sum(axis=-1)
    beta = numpy.repeat((ends / total[:, None])[:, None, :], P.shape[1], axis=1)
    weights_t = numpy.ascontiguousarray(weights.T)
    for t in range(len(batch_sizes) - 2, -1, -1):
        size = batch_sizes[t + 1]  # sequences going on after t
        beta[:size, t] = ((P[:size, t + 1] * beta[:size, t + 1]) @ weights_t) / norms[:size, t + 1, None]
    return alpha * beta


# Checks ---------------------------------------------------------------------------


def check_lengths(lengths: Sequence[int], n_tokens: int) -> numpy.ndarray:
    """The sequence lengths as host ints: positive (the model's segments are sentences
    or non-empty docs), summing to ``n_tokens``."""
    lengths_np = numpy.asarray(lengths, dtype="int64").reshape(-1)
    if (lengths_np < 1).any() or int(lengths_np.sum()) != n_tokens:
        raise ValueError(f"crf: sequence lengths must be positive and sum to {n_tokens} tokens, "
                         f"got {lengths_np.tolist()[:10]}.")
    return lengths_np


def check_gold(gold: numpy.ndarray, lengths: numpy.ndarray, n_tags: int) -> None:
    """Raise ValueError when a gold id is out of range or a known gold pair breaks BIO."""
    if gold.shape != (int(lengths.sum()),):
        raise ValueError(f"crf: got {gold.shape[0]} gold tags for {int(lengths.sum())} tokens.")
    if len(gold) and (gold.min() < -1 or gold.max() >= n_tags):
        raise ValueError(f"crf: gold tag ids must lie in -1..{n_tags - 1}, got {gold.min()}..{gold.max()}.")
    bad = breaks_bio(gold, lengths)
    if bad.any():
        t = int(numpy.flatnonzero(bad)[0])
        ends = numpy.cumsum(lengths)
        seq = int(numpy.searchsorted(ends, t, side="right"))
        start = int(ends[seq] - lengths[seq])
        what = "a sequence start" if t == start else f"tag {int(gold[t - 1])}"
        raise ValueError(
            f"crf: gold of sequence {seq}, token {t - start} (tag {int(gold[t])}) "
            f"cannot follow {what} under BIO ({int(bad.sum())} such tokens); "
            "fix the gold with bio.repair_bio or mark the tokens unknown (-1)."
        )
