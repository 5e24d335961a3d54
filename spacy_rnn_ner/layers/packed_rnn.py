"""A PyTorch RNN / GRU / LSTM over packed sequences, wrapped as a thinc layer.

The documents' token vectors are packed straight into a ``PackedSequence`` (time-major
order of the real tokens, no padding), so:

- padding never reaches the recurrent cells: the backward direction starts at each
  document's last real token and a document's output does not depend on which other
  documents share its batch;
- memory grows with the number of tokens in the batch, not with
  ``batch size × longest document`` as it would with a padded tensor (thinc's
  ``with_padded``), so one 50,000-token document in a batch of short ones is cheap.
"""
from typing import Callable, List, Tuple, cast

import numpy
import torch
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2
from thinc.shims import PyTorchShim
from thinc.types import Floats2d
from thinc.util import torch2xp, xp2torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

RNN_TYPES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def packing_order(lengths: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """How to pack a flat ``(sum(lengths), n)`` array of concatenated sequences.

    Returns ``(perm, batch_sizes)``: ``flat[perm]`` is the data of a ``PackedSequence``
    with these ``batch_sizes`` (time-major, sequences by decreasing length).
    """
    lengths = numpy.asarray(lengths, dtype="int64")
    sorted_indices = numpy.argsort(-lengths, kind="stable")
    rank = numpy.empty_like(sorted_indices)
    rank[sorted_indices] = numpy.arange(len(lengths))
    starts = numpy.concatenate([[0], numpy.cumsum(lengths)[:-1]]) if len(lengths) else lengths
    seq_of_token = numpy.repeat(numpy.arange(len(lengths)), lengths)
    time_of_token = numpy.arange(int(lengths.sum())) - numpy.repeat(starts, lengths)
    perm = numpy.lexsort((rank[seq_of_token], time_of_token))
    batch_sizes = numpy.bincount(time_of_token, minlength=0) if len(perm) else perm
    return perm, batch_sizes


class PackedRNN(nn.Module):
    """Token dropout → dropout → (bi)directional RNN/GRU/LSTM → dropout, on packed
    sequences. Token dropout zeroes whole token vectors (rate ``token_dropout``), so the
    network learns to use the context of a word and not only the word itself.

    ``forward(data, batch_sizes)`` takes the ``PackedSequence`` parts (``batch_sizes``
    on the CPU) and returns the output data in the same packed order,
    ``(n_tokens, hidden_width * (2 if bidirectional else 1))``.
    """

    def __init__(
        self,
        rnn_type: str,
        nI: int,
        hidden_width: int,
        depth: int,
        bidirectional: bool,
        dropout: float,
        token_dropout: float = 0.0,
    ):
        super().__init__()
        self.token_dropout = token_dropout
        self.input_dropout = nn.Dropout(dropout)
        self.rnn = RNN_TYPES[rnn_type](
            nI,
            hidden_width,
            num_layers=depth,
            bidirectional=bidirectional,
            dropout=dropout if depth > 1 else 0.0,
        )
        self.output_dropout = nn.Dropout(dropout)
        self.nO = hidden_width * (2 if bidirectional else 1)

    def forward(self, data: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
        if data.shape[0] == 0:  # keep the graph connected for backprop
            return data.new_zeros((0, self.nO)) + 0.0 * data.sum()
        if self.training and self.token_dropout > 0:
            keep = torch.rand((data.shape[0], 1), device=data.device) >= self.token_dropout
            data = data * keep
        # the final hidden states are not used, so the sequences' order is not needed
        packed = PackedSequence(self.input_dropout(data), batch_sizes)
        output, _ = self.rnn(packed)
        return self.output_dropout(output.data)


def _convert_inputs(
    model: Model, Xs: List[Floats2d], is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], List[Floats2d]]]:
    shim = cast(PyTorchShim, model.shims[0])
    ops = model.ops
    lengths = numpy.asarray([len(X) for X in Xs], dtype="int64")
    perm, batch_sizes = packing_order(lengths)
    nI = model.get_dim("nI")
    flat = ops.flatten(Xs) if Xs else ops.alloc2f(0, nI)
    perm_xp = ops.asarray1i(perm)
    data = xp2torch(ops.as_contig(flat[perm_xp]), requires_grad=is_train, device=shim.device)
    args = (data, torch.as_tensor(batch_sizes, dtype=torch.int64))

    def backprop(d_inputs: ArgsKwargs) -> List[Floats2d]:
        d_packed = torch2xp(d_inputs.args[0])
        d_flat = ops.alloc2f(*d_packed.shape)
        d_flat[perm_xp] = d_packed
        return cast(List[Floats2d], ops.unflatten(d_flat, lengths))

    return ArgsKwargs(args=args, kwargs={}), backprop


def _convert_outputs(
    model: Model, inputs_outputs: Tuple[List[Floats2d], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    shim = cast(PyTorchShim, model.shims[0])
    ops = model.ops
    Xs, Ytorch = inputs_outputs
    lengths = numpy.asarray([len(X) for X in Xs], dtype="int64")
    perm = ops.asarray1i(packing_order(lengths)[0])
    Y_packed = cast(Floats2d, torch2xp(Ytorch))
    Y_flat = ops.alloc2f(*Y_packed.shape)
    Y_flat[perm] = Y_packed

    def backprop(dYs: List[Floats2d]) -> ArgsKwargs:
        d_flat = ops.flatten(dYs) if dYs else ops.alloc2f(0, Y_packed.shape[1])
        dY = xp2torch(ops.as_contig(d_flat[perm]), device=shim.device)
        return ArgsKwargs(args=(Ytorch,), kwargs={"grad_tensors": dY})

    return cast(List[Floats2d], ops.unflatten(Y_flat, lengths)), backprop


def packed_rnn_layer(
    rnn_type: str,
    nI: int,
    hidden_width: int,
    depth: int,
    bidirectional: bool,
    dropout: float,
    mixed_precision: bool,
    token_dropout: float = 0.0,
) -> Model[List[Floats2d], List[Floats2d]]:
    """thinc layer: one ``(n_tokens, nI)`` array per document in, one contextual
    ``(n_tokens, nO)`` array per document out."""
    module = PackedRNN(rnn_type, nI, hidden_width, depth, bidirectional, dropout, token_dropout)
    layer = PyTorchWrapper_v2(
        module,
        convert_inputs=_convert_inputs,
        convert_outputs=_convert_outputs,
        mixed_precision=mixed_precision,
    )
    layer.set_dim("nI", nI)
    layer.set_dim("nO", module.nO)
    return layer
