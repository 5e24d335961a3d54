"""Prediction over long segments in bounded time and memory.

An RNN steps through a segment one token at a time, so one 50,000-token segment (a
document without sentence starts) is 50,000 sequential steps of a single row, and its
input projections for all steps are held at once. At prediction time a segment longer
than ``max_length`` is cut into windows of ``max_length`` tokens, each seen by the RNN
with ``context`` more tokens on both sides; a token's state is taken from the window
whose core holds it. The windows run as one packed batch, and a batch is run in calls of
at most ``max_tokens`` tokens. Batches whose segments are all short and that hold at most
``max_tokens`` tokens run as before, unchanged. Training never windows (its documents are
cut to ``max_length`` by the corpus reader).
"""
from typing import Callable, List, NamedTuple, Tuple

import numpy
from thinc.api import Model
from thinc.types import Floats2d

#: the core of one window, in tokens: a longer segment is cut
MAX_LENGTH = 1000
#: tokens the RNN also sees on each side of a window's core
CONTEXT = 100
#: tokens in one RNN call at prediction time (bounds the memory of a large batch)
MAX_TOKENS = 8_192


class RNNCall(NamedTuple):
    """One call of the RNN: the input rows it reads (token indices, in window order), its
    window lengths, and which of its output rows are window cores (``out``) for which
    tokens (``tokens``)."""

    rows: numpy.ndarray
    lengths: numpy.ndarray
    out: numpy.ndarray
    tokens: numpy.ndarray


def plan_calls(lengths: numpy.ndarray, max_length: int = MAX_LENGTH, context: int = CONTEXT,
               max_tokens: int = MAX_TOKENS) -> List[RNNCall]:
    """The RNN calls that cover every token of the segments (``lengths``, flat, in order)
    exactly once with a core; ``[]`` when the batch can run as one call unchanged."""
    lengths = numpy.asarray(lengths, dtype="int64")
    if not len(lengths) or (lengths.max() <= max_length and lengths.sum() <= max_tokens):
        return []
    windows: List[Tuple[int, int, int, int]] = []  # (start, end, core start, core end)
    start = 0
    for n in lengths.tolist():
        for core in range(start, start + n, max_length):
            core_end = min(core + max_length, start + n)
            windows.append((max(start, core - context), min(start + n, core_end + context), core, core_end))
        start += n
    calls: List[RNNCall] = []
    group: List[Tuple[int, int, int, int]] = []
    size = 0
    for window in windows + [None]:
        if group and (window is None or size + window[1] - window[0] > max_tokens):
            calls.append(_call(group))
            group, size = [], 0
        if window is not None:
            group.append(window)
            size += window[1] - window[0]
    return calls


def _call(windows: List[Tuple[int, int, int, int]]) -> RNNCall:
    rows = numpy.concatenate([numpy.arange(s, e) for s, e, _, _ in windows])
    offsets = numpy.cumsum([0] + [e - s for s, e, _, _ in windows[:-1]])
    out = numpy.concatenate([numpy.arange(cs - s, ce - s) + o for (s, _, cs, ce), o in zip(windows, offsets)])
    tokens = numpy.concatenate([numpy.arange(cs, ce) for _, _, cs, ce in windows])
    return RNNCall(rows, numpy.asarray([e - s for s, e, _, _ in windows], dtype="int64"), out, tokens)


def run_rnn(rnn: Model, X: Floats2d, lengths: numpy.ndarray, is_train: bool) -> Tuple[Floats2d, Callable]:
    """``rnn((X, lengths), is_train)``; at prediction time over the calls of
    :func:`plan_calls` when the batch has long segments or many tokens."""
    calls = [] if is_train else plan_calls(lengths, MAX_LENGTH, CONTEXT, MAX_TOKENS)
    if not calls:
        return rnn((X, lengths), is_train)
    ops = rnn.ops
    H = None
    for call in calls:
        H_call, _ = rnn((X[ops.asarray1i(call.rows)], call.lengths), False)
        if H is None:
            H = ops.alloc2f(X.shape[0], H_call.shape[1])
        H[ops.asarray1i(call.tokens)] = H_call[ops.asarray1i(call.out)]
    return H, prediction_only


def prediction_only(d_output: Floats2d) -> Floats2d:
    """The backprop of a forward pass made with ``is_train=False`` along a path that
    only predicts."""
    raise ValueError("no gradient: this forward pass was made for prediction (is_train=False)")
