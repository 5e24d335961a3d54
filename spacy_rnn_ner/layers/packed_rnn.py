"""A PyTorch RNN / GRU / LSTM over packed sequences, wrapped as a thinc layer.

The layer takes the token vectors of all sequences (sentence segments) as one flat
``(n_tokens, nI)`` array, in order, plus the sequences' lengths, and returns one flat
``(n_tokens, nO)`` array in the same order. Inside torch the rows are gathered into a
``PackedSequence`` (time-major order of the real tokens, no padding), so:

- padding never reaches the recurrent cells: the backward direction starts at each
  sequence's last real token, and a sequence's output does not depend on which other
  sequences share its batch;
- memory grows with the number of tokens, not with ``batch size × longest sequence``
  as it would with a padded tensor (thinc's ``with_padded``).

Dropout is applied with an explicit ``is_train`` flag, never through the module's
``train()``/``eval()`` state: thinc's shim toggles that state on the one module shared by
every thread, so a prediction must not depend on it.
"""
from typing import Callable, Dict, Optional, Tuple, Type, cast

import numpy
import torch
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2
from thinc.shims import PyTorchShim
from thinc.types import Floats2d, Ints1d
from thinc.util import torch2xp, xp2torch
from .fork_safety import ensure_torch_after_fork
from torch import _VF, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

RNN_TYPES: Dict[str, Type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
_PACKED_FUNCTIONS = {"RNN_TANH": _VF.rnn_tanh, "GRU": _VF.gru, "LSTM": _VF.lstm}

SegmentsInput = Tuple[Floats2d, Ints1d]  # flat token vectors, sequence lengths


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
    """Token dropout → dropout → (bi)directional RNN/GRU/LSTM → dropout.

    ``forward(X, perm, unperm, batch_sizes, is_train)``: ``X[perm]`` is the packed data
    (``batch_sizes`` on the CPU); the output is returned in ``X``'s row order,
    ``(n_tokens, hidden_width * (2 if bidirectional else 1))``. Token dropout zeroes
    whole token vectors (rate ``token_dropout``), so the network learns to use the
    context of a word and not only the word itself.

    ``nI`` may be ``None`` (the input width is inferred later, e.g. from a listener):
    the recurrent cells are then built by :meth:`set_input_width` or when a state
    dict is loaded.
    """

    def __init__(
        self,
        rnn_type: str,
        nI: Optional[int],
        hidden_width: int,
        depth: int,
        bidirectional: bool,
        dropout: float,
        token_dropout: float = 0.0,
    ):
        super().__init__()
        self.rnn_type = rnn_type
        self.hidden_width = hidden_width
        self.depth = depth
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.token_dropout = token_dropout
        self.nO = hidden_width * (2 if bidirectional else 1)
        self.rnn: Optional[nn.RNNBase] = None
        if nI is not None:
            self.set_input_width(nI)
        self._register_load_state_dict_pre_hook(_build_from_state_dict, with_module=True)

    def set_input_width(self, nI: int) -> None:
        """Build the recurrent cells for ``nI``-wide inputs."""
        device = self.rnn.weight_ih_l0.device if self.rnn is not None else None
        # the module's own inter-layer dropout stays 0: it would follow ``self.training``
        self.rnn = RNN_TYPES[self.rnn_type](
            nI, self.hidden_width, num_layers=self.depth, bidirectional=self.bidirectional
        )
        if device is not None:
            self.rnn.to(device)

    def forward(
        self,
        X: torch.Tensor,
        perm: torch.Tensor,
        unperm: torch.Tensor,
        batch_sizes: torch.Tensor,
        is_train: bool,
    ) -> torch.Tensor:
        if self.rnn is None:
            raise ValueError("PackedRNN: the input width is not set (call set_input_width).")
        if X.shape[0] == 0:  # keep the graph connected for backprop
            return X.new_zeros((0, self.nO)) + 0.0 * X.sum()
        data = X[perm]
        if is_train and self.token_dropout > 0:
            keep = torch.rand((data.shape[0], 1), device=data.device) >= self.token_dropout
            data = data * keep
        data = F.dropout(data, self.dropout, training=is_train)
        output = _run_packed(self.rnn, data, batch_sizes, self.dropout if is_train else 0.0)
        output = F.dropout(output, self.dropout, training=is_train)
        return output[unperm].float()  # float32 also under autocast


def _build_from_state_dict(module: PackedRNN, state_dict, prefix, *args) -> None:
    """Load-state-dict hook: build the cells from the saved weights' input width."""
    key = prefix + "rnn.weight_ih_l0"
    if key in state_dict:
        nI = int(state_dict[key].shape[1])
        if module.rnn is None or module.rnn.input_size != nI:
            module.set_input_width(nI)


def _run_packed(rnn: nn.RNNBase, data: torch.Tensor, batch_sizes: torch.Tensor, dropout: float) -> torch.Tensor:
    """``rnn`` over packed ``data``, with inter-layer ``dropout`` given explicitly."""
    if rnn.num_layers == 1 or dropout == 0.0:
        output, _ = rnn(PackedSequence(data, batch_sizes))
        return output.data
    # torch's packed-sequence kernel, with the dropout flag passed instead of read
    # from the module's (shared) training state
    n_states = rnn.num_layers * (2 if rnn.bidirectional else 1)
    h0 = data.new_zeros((n_states, int(batch_sizes[0]), rnn.hidden_size))
    hx = (h0, h0) if rnn.mode == "LSTM" else h0
    result = _PACKED_FUNCTIONS[rnn.mode](
        data, batch_sizes, hx, rnn._flat_weights, rnn.bias, rnn.num_layers, dropout, True,
        rnn.bidirectional,
    )
    return result[0]


def _convert_inputs(
    model: Model, inputs: SegmentsInput, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], Floats2d]]:
    ensure_torch_after_fork()
    shim = cast(PyTorchShim, model.shims[0])
    X, lengths = inputs
    perm, batch_sizes = packing_order(model.ops.to_numpy(lengths))
    unperm = numpy.empty_like(perm)
    unperm[perm] = numpy.arange(len(perm))
    device = shim.device
    Xt = xp2torch(X, requires_grad=is_train, device=device)
    args = (
        Xt,
        torch.as_tensor(perm, device=device),
        torch.as_tensor(unperm, device=device),
        torch.as_tensor(batch_sizes, dtype=torch.int64),
        is_train,
    )

    def backprop(d_inputs: ArgsKwargs) -> Floats2d:
        return cast(Floats2d, torch2xp(d_inputs.args[0]))

    return ArgsKwargs(args=args, kwargs={}), backprop


def _convert_outputs(
    model: Model, inputs_outputs: Tuple[SegmentsInput, torch.Tensor], is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], ArgsKwargs]]:
    shim = cast(PyTorchShim, model.shims[0])
    _, Ytorch = inputs_outputs
    Y = cast(Floats2d, torch2xp(Ytorch))

    def backprop(dY: Floats2d) -> ArgsKwargs:
        dYt = xp2torch(model.ops.as_contig(dY), device=shim.device)
        return ArgsKwargs(args=(Ytorch,), kwargs={"grad_tensors": dYt})

    return Y, backprop


def packed_rnn_layer(
    rnn_type: str,
    nI: Optional[int],
    hidden_width: int,
    depth: int,
    bidirectional: bool,
    dropout: float,
    mixed_precision: bool,
    token_dropout: float = 0.0,
) -> Model[SegmentsInput, Floats2d]:
    """thinc layer: ``(flat (n_tokens, nI) token vectors, sequence lengths)`` in,
    contextual ``(n_tokens, nO)`` vectors in the same row order out."""
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


def set_rnn_input_width(layer: Model, nI: int) -> None:
    """Set a packed RNN layer's input width after it was built without one."""
    shim = cast(PyTorchShim, layer.shims[0])
    module = cast(PackedRNN, shim._model)
    module.set_input_width(nI)
    module.to(shim.device)
    layer.set_dim("nI", nI, force=True)
