"""Linear-chain CRF over BIO tags, computed with torch on the model's device.

The learned scores are the params ``transitions`` ``(nO, nO)`` (prev -> next),
``start`` and ``end`` ``(nO,)`` of a thinc node named ``crf`` (the layout pipelines
were saved with). The computations read them through torch (zero-copy on CPU and, via
DLPack, on GPU), so they run wherever the params live; gradients come from torch's
autograd and are added to the node with ``inc_grad``.

Emissions are one flat ``(n_tokens, n_tags)`` array cut into sequences (sentence
segments, in order) by ``lengths``. A path ``y`` scores
``start[y0] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_last]``;
transitions and first tags that BIO forbids (:func:`bio.allowed_transitions`) score
``NEG_INF``. The sequences run together in packed order (time-major, longest first, as
a ``PackedSequence``): no padding, one step per position of the longest sequence.
"""
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy
import torch
from thinc.api import Model
from thinc.types import Floats2d
from thinc.util import torch2xp, xp2torch

from ..bio import NEG_INF, allowed_transitions
from .packed_rnn import packing_order

PARAMS = ("transitions", "start", "end")


class Packing(NamedTuple):
    """Where the flat rows of a batch of sequences go in packed (time-major) order."""

    perm: torch.Tensor  # flat[perm] is the packed data
    unperm: torch.Tensor  # packed[unperm] is the flat data
    batch_sizes: List[int]  # sequences active at each time step (longest first)


class CRFScores(NamedTuple):
    """Learned scores with BIO-forbidden entries at ``NEG_INF``, as torch tensors."""

    transitions: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor


# The thinc node ------------------------------------------------------------------


def crf_layer(nO: Optional[int] = None) -> Model[List[Floats2d], List[Floats2d]]:
    """The node holding the CRF's learned scores for ``nO = 1 + 2 * n_labels`` BIO
    tags, initialised to zero. Its forward is the identity: the tagger's loss and
    decoding read its params (:func:`crf_loss`, :func:`crf_decode`)."""
    return Model("crf", _identity, init=_init, dims={"nO": nO}, params={name: None for name in PARAMS})


def _init(model: Model, X=None, Y=None) -> None:
    if not model.has_dim("nO"):
        sample = Y if Y is not None else X
        if not sample:
            raise ValueError("crf layer: nO (number of BIO tags) is unset and there is no sample to infer it from.")
        model.set_dim("nO", int(sample[0].shape[1]))
    n_tags = model.get_dim("nO")
    if n_tags < 1 or n_tags % 2 != 1:
        raise ValueError(f"crf layer: nO={n_tags} is not a BIO tag count (1 + 2 * n_labels).")
    model.set_param("transitions", model.ops.alloc2f(n_tags, n_tags))
    model.set_param("start", model.ops.alloc1f(n_tags))
    model.set_param("end", model.ops.alloc1f(n_tags))


def _identity(model: Model, X, is_train: bool) -> Tuple[object, Callable]:
    return X, _identity_backprop


def _identity_backprop(dY):
    return dY


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
    """Weighted negative log-likelihood of the gold tag ids (``-1``: unknown, summed
    over) of the sequences of flat ``emissions``, times ``scale``. Adds the gradients
    of ``crf``'s params (``inc_grad``) and returns ``(loss, d_emissions)``."""
    gold = numpy.asarray(gold, dtype="int64").reshape(-1)
    lengths_np = check_lengths(lengths, emissions.shape[0])
    check_gold(gold, lengths_np, emissions.shape[1])
    device = _device(emissions)
    E = xp2torch(emissions, requires_grad=True, device=device)
    params = [xp2torch(crf.get_param(name), requires_grad=True, device=device) for name in PARAMS]
    w = None if weights is None else torch.as_tensor(numpy.asarray(weights, "float32"), device=device)
    with torch.enable_grad():
        loss = nll(E, lengths_np, torch.as_tensor(gold, device=device), *params, weights=w) * scale
        grads = torch.autograd.grad(loss, [E] + params, allow_unused=True)
    grads = [torch.zeros_like(x) if g is None else g for x, g in zip([E] + params, grads)]
    for name, grad in zip(PARAMS, grads[1:]):
        crf.inc_grad(name, torch2xp(grad))
    return float(loss.detach()), torch2xp(grads[0])


def crf_decode(
    crf: Optional[Model], emissions: Floats2d, lengths: Sequence[int], outside_only: Optional[numpy.ndarray] = None,
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Best BIO path of each sequence of flat ``emissions`` (flat numpy tag ids) and the
    posterior probability of each chosen tag (the CRF's marginals). With ``crf`` None the
    emissions are tag probabilities: Viterbi over their logs under the BIO constraints
    alone, and the chosen tags' probabilities. ``outside_only``: tokens forced to ``O``.
    Runs on the emissions' device; one transfer of the results to the CPU."""
    lengths_np = check_lengths(lengths, emissions.shape[0])
    lengths_np = lengths_np[lengths_np > 0]
    n_tags = emissions.shape[1]
    if emissions.shape[0] == 0:
        return numpy.zeros((0,), "int64"), numpy.zeros((0,), "float32")
    device = _device(emissions)
    with torch.no_grad():
        E = xp2torch(emissions, device=device).float()
        if crf is None:
            probs = E
            E = torch.log(E + 1e-8)
            params = [None, None, None]
        else:
            params = [xp2torch(crf.get_param(name), device=device) for name in PARAMS]
        if outside_only is not None and outside_only.any():
            forced = torch.as_tensor(numpy.asarray(outside_only, dtype=bool), device=device)
            E = E.clone()
            E[forced, 1:] = NEG_INF
        scores = masked_scores(n_tags, *params, dtype=E.dtype, device=device)
        packing = make_packing(lengths_np, device)
        tags = viterbi(E, packing, scores)
    if crf is not None:
        probs = marginals(E, packing, scores)
    chosen = probs.gather(1, tags[:, None])[:, 0]
    return tags.cpu().numpy(), chosen.float().cpu().numpy()


def _device(array) -> torch.device:
    """The torch device of a numpy (CPU) or cupy (its GPU) array."""
    if isinstance(array, numpy.ndarray):
        return torch.device("cpu")
    return torch.device("cuda", array.device.id)


# Torch computations ---------------------------------------------------------------


def make_packing(lengths: numpy.ndarray, device) -> Packing:
    """The packed order of sequences of ``lengths`` (all positive) on ``device``."""
    perm, batch_sizes = packing_order(lengths)
    unperm = numpy.empty_like(perm)
    unperm[perm] = numpy.arange(len(perm))
    return Packing(
        torch.as_tensor(perm, device=device), torch.as_tensor(unperm, device=device), batch_sizes.tolist()
    )


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


def _steps(packed: torch.Tensor, batch_sizes: List[int]):
    """Per time step: the packed rows of the step, its batch size and how many sequences
    ended at the step before (they are the last ones of the previous step)."""
    offset = 0
    for t, size in enumerate(batch_sizes):
        yield t, packed[..., offset : offset + size, :], size
        offset += size


def log_partition(E: torch.Tensor, packing: Packing, scores: CRFScores) -> torch.Tensor:
    """Log-sum over all allowed paths per sequence, ``(..., n_sequences)`` float64 in
    packed (longest first) order. ``E``: flat emissions ``(..., n_tokens, n_tags)``.
    The forward messages are shifted by their maximum at every step (a constant for
    autograd, added back in float64), so float32 is safe for long sequences."""
    if not packing.batch_sizes:
        return E.new_zeros(E.shape[:-2] + (0,), dtype=torch.float64) + 0.0 * E.sum()
    packed = E[..., packing.perm, :]
    finished, finished_norm = [], []
    alpha = norm = None
    for t, rows, size in _steps(packed, packing.batch_sizes):
        if t == 0:
            alpha = scores.start + rows
        else:
            if size < alpha.shape[-2]:
                finished.append(alpha[..., size:, :])
                finished_norm.append(norm[..., size:])
                alpha, norm = alpha[..., :size, :], norm[..., :size]
            alpha = torch.logsumexp(alpha[..., :, :, None] + scores.transitions, dim=-2) + rows
        shift = alpha.detach().max(dim=-1, keepdim=True).values
        alpha = alpha - shift
        norm = shift[..., 0].double() if t == 0 else norm + shift[..., 0].double()
    finished.append(alpha)
    finished_norm.append(norm)
    final = torch.cat(finished[::-1], dim=-2)  # ends of the longest sequences first
    return torch.logsumexp(final + scores.end, dim=-1).double() + torch.cat(finished_norm[::-1], dim=-1)


def nll(
    E: torch.Tensor, lengths: numpy.ndarray, gold: torch.Tensor, transitions, start, end,
    weights: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Summed (weighted per sequence) negative log-likelihood of the gold paths, where
    a gold tag of ``-1`` is latent: the gold score sums over its allowed tags."""
    n_tags = E.shape[-1]
    scores = masked_scores(n_tags, transitions, start, end, dtype=E.dtype, device=E.device)
    packing = make_packing(lengths[lengths > 0], E.device)
    clamp = (gold[:, None] >= 0) & (torch.arange(n_tags, device=E.device) != gold[:, None])
    both = torch.stack([E, E.masked_fill(clamp, NEG_INF)])
    log_z, log_z_gold = log_partition(both, packing, scores)
    per_sequence = log_z - log_z_gold  # packed order
    if weights is None:
        return per_sequence.sum()
    nonempty = numpy.flatnonzero(lengths > 0)
    order = nonempty[numpy.argsort(-lengths[nonempty], kind="stable")]
    return (per_sequence * weights[torch.as_tensor(order, device=E.device)]).sum()


def marginals(E: torch.Tensor, packing: Packing, scores: CRFScores) -> torch.Tensor:
    """Posterior probability of each tag at each token, ``(n_tokens, n_tags)``: the
    gradient of the log partition with respect to the emissions."""
    with torch.enable_grad():
        E = E.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(log_partition(E, packing, scores).sum(), E)
    return grad


def viterbi(E: torch.Tensor, packing: Packing, scores: CRFScores) -> torch.Tensor:
    """Best allowed path of each sequence, as flat tag ids ``(n_tokens,)`` on E's device."""
    packed = E[packing.perm]
    sizes = packing.batch_sizes
    backpointers = []
    finished = []
    best = None
    for t, rows, size in _steps(packed, sizes):
        if t == 0:
            best = scores.start + rows
            continue
        if size < best.shape[0]:
            finished.append(best[size:])
            best = best[:size]
        best, prev = (best[:, :, None] + scores.transitions).max(dim=1)
        best = best + rows
        backpointers.append(prev)
    finished.append(best)
    last_tags = (torch.cat(finished[::-1]) + scores.end).argmax(dim=1)
    path = torch.empty((packed.shape[0],), dtype=torch.int64, device=E.device)
    offsets = numpy.concatenate([[0], numpy.cumsum(sizes)]).tolist()
    current = last_tags.clone()
    for t in range(len(sizes) - 1, -1, -1):
        size = sizes[t]
        ending = sizes[t + 1] if t + 1 < len(sizes) else 0
        if ending < size:  # sequences whose last token is at t
            current[ending:size] = last_tags[ending:size]
        path[offsets[t] : offsets[t] + size] = current[:size]
        if t > 0:
            current[:size] = backpointers[t - 1].gather(1, current[:size, None])[:, 0]
    return path[packing.unperm]


# Checks ---------------------------------------------------------------------------


def check_lengths(lengths: Sequence[int], n_tokens: int) -> numpy.ndarray:
    lengths_np = numpy.asarray(lengths, dtype="int64").reshape(-1)
    if (lengths_np < 0).any() or int(lengths_np.sum()) != n_tokens:
        raise ValueError(f"crf: sequence lengths sum to {int(lengths_np.sum())}, expected {n_tokens} tokens.")
    return lengths_np


def check_gold(gold: numpy.ndarray, lengths: numpy.ndarray, n_tags: int) -> None:
    """Raise ValueError when a gold id is out of range or a known gold pair breaks BIO."""
    if gold.shape != (int(lengths.sum()),):
        raise ValueError(f"crf: got {gold.shape[0]} gold tags for {int(lengths.sum())} tokens.")
    if len(gold) and (gold.min() < -1 or gold.max() >= n_tags):
        raise ValueError(f"crf: gold tag ids must lie in -1..{n_tags - 1}, got {gold.min()}..{gold.max()}.")
    allowed, allowed_start = allowed_transitions((n_tags - 1) // 2)
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
            "fix the gold with bio.repair_bio or mark the tokens unknown (-1)."
        )
