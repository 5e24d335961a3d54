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
every thread, so a prediction must not depend on it. So stacked layers are one
single-layer torch module per depth with the dropout between them (torch's own
inter-layer dropout would follow ``self.training``).
"""
import re
from typing import Callable, Dict, Optional, Tuple, Type, cast

import numpy
import torch
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2
from thinc.shims import PyTorchShim
from thinc.types import Floats2d, Ints1d
from thinc.util import torch2xp, xp2torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

from .fork_safety import ensure_torch_after_fork

RNN_TYPES: Dict[str, Type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
# state-dict keys of the multi-layer module that pipelines before per-depth layers saved
_STACKED_KEY = re.compile(r"^rnn\.(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")

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


def inverse_permutation(perm: numpy.ndarray) -> numpy.ndarray:
    """The permutation undoing ``perm``: ``x[perm][inverse_permutation(perm)] == x``."""
    inverse = numpy.empty_like(perm)
    inverse[perm] = numpy.arange(len(perm))
    return inverse


class PackedRNN(nn.Module):
    """Token dropout → dropout → (bi)directional RNN/GRU/LSTM → dropout.

    ``forward(X, perm, unperm, batch_sizes, is_train)``: ``X[perm]`` is the packed data
    (``batch_sizes`` on the CPU); the output is returned in ``X``'s row order,
    ``(n_tokens, hidden_width * (2 if bidirectional else 1))``. Token dropout zeroes
    whole token vectors (rate ``token_dropout``), so the network learns to use the
    context of a word and not only the word itself.

    ``nI`` may be ``None`` (the input width is inferred later, e.g. from a listener):
    the recurrent layers are then built by :meth:`set_input_width` or when a state
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
        self.layers = nn.ModuleList()
        if nI is not None:
            self.set_input_width(nI)
        self.register_load_state_dict_pre_hook(_load_hook)

    @property
    def input_width(self) -> Optional[int]:
        return self.layers[0].input_size if len(self.layers) else None

    def set_input_width(self, nI: int) -> None:
        """Build the recurrent layers (one single-layer module per depth) for
        ``nI``-wide inputs."""
        device = self.layers[0].weight_ih_l0.device if len(self.layers) else None
        make = RNN_TYPES[self.rnn_type]
        self.layers = nn.ModuleList(
            make(nI if i == 0 else self.nO, self.hidden_width, num_layers=1, bidirectional=self.bidirectional)
            for i in range(self.depth)
        )
        if device is not None:
            self.layers.to(device)

    def forward(
        self,
        X: torch.Tensor,
        perm: torch.Tensor,
        unperm: torch.Tensor,
        batch_sizes: torch.Tensor,
        is_train: bool,
    ) -> torch.Tensor:
        if not len(self.layers):
            raise ValueError("PackedRNN: the input width is not set (call set_input_width).")
        if X.shape[0] == 0:  # keep the graph connected for backprop
            return X.new_zeros((0, self.nO)) + 0.0 * X.sum()
        data = X[perm]
        if is_train and self.token_dropout > 0:
            keep = torch.rand((data.shape[0], 1), device=data.device) >= self.token_dropout
            data = data * keep
        for layer in self.layers:
            # dropout on the RNN's input, between stacked layers (as torch's own)
            data = F.dropout(data, self.dropout, training=is_train)
            data = layer(PackedSequence(data, batch_sizes))[0].data
        output = F.dropout(data, self.dropout, training=is_train)
        return output[unperm].float()  # float32 also under autocast


def _load_hook(module: PackedRNN, state_dict, prefix, *args) -> None:
    """Load-state-dict hook: rename the keys of the multi-layer module that earlier
    pipelines saved (``rnn.weight_ih_l1``) to the per-depth layers
    (``layers.1.weight_ih_l0``), and build the layers from the saved input width."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        match = _STACKED_KEY.match(key[len(prefix):])
        if match:
            kind, which, depth, reverse = match.groups()
            state_dict[f"{prefix}layers.{depth}.{kind}_{which}_l0{reverse or ''}"] = state_dict.pop(key)
    key = prefix + "layers.0.weight_ih_l0"
    if key in state_dict:
        nI = int(state_dict[key].shape[1])
        if module.input_width != nI:
            module.set_input_width(nI)


def _convert_inputs(
    model: Model, inputs: SegmentsInput, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], Floats2d]]:
    ensure_torch_after_fork()
    shim = cast(PyTorchShim, model.shims[0])
    X, lengths = inputs
    perm, batch_sizes = packing_order(model.ops.to_numpy(lengths))
    unperm = inverse_permutation(perm)
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


def convert_outputs(
    model: Model, inputs_outputs: Tuple[object, torch.Tensor], is_train: bool
) -> Tuple[Floats2d, Callable[[Optional[Floats2d]], ArgsKwargs]]:
    """``convert_outputs`` of the package's ``PyTorchWrapper`` layers: the module's flat
    output tensor as an array of the model's ops (on its device, no copy), and the
    gradient back as a tensor on the shim's device."""
    shim = cast(PyTorchShim, model.shims[0])
    _, Ytorch = inputs_outputs
    Y = cast(Floats2d, torch2xp(Ytorch))

    def backprop(dY: Optional[Floats2d]) -> ArgsKwargs:
        dYt = xp2torch(model.ops.as_contig(dY), device=shim.device) if dY is not None else None
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
        convert_outputs=convert_outputs,
        mixed_precision=mixed_precision,
    )
    layer.set_dim("nI", nI)
    layer.set_dim("nO", module.nO)
    return layer


def torch_module(layer: Model) -> torch.nn.Module:
    """The torch module inside a ``PyTorchWrapper`` layer. thinc has no public accessor:
    this is the one place that reads the shim's private ``_model`` (tested in
    ``test_layers.py``, so a thinc release that renames it fails there)."""
    return cast(PyTorchShim, layer.shims[0])._model


def set_rnn_input_width(layer: Model, nI: int) -> None:
    """Set a packed RNN layer's input width after it was built without one."""
    module = cast(PackedRNN, torch_module(layer))
    module.set_input_width(nI)
    module.to(cast(PyTorchShim, layer.shims[0]).device)
    layer.set_dim("nI", nI, force=True)
