"""Character-level word encoder: character embeddings → 1D convolution → max-pool.

Characters are mapped to embedding rows by Unicode code point modulo ``n_rows``, so no
character vocabulary has to be built or stored. Token character ids are gathered from
the document text with array indexing (no Python loop over tokens).
"""
from typing import Callable, List, Tuple, cast

import numpy
import torch
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2
from thinc.shims import PyTorchShim
from thinc.types import Floats2d, Ints2d
from thinc.util import torch2xp, xp2torch
from .fork_safety import ensure_torch_after_fork
from torch import nn
from torch.nn import functional as F

PAD_ID = 0


def doc_char_ids(doc: Doc, max_chars: int, n_rows: int) -> Ints2d:
    """``(n_tokens, max_chars)`` int array of character ids (0 = padding).

    Tokens longer than ``max_chars`` keep their first ``max_chars`` characters.
    """
    n_tokens = len(doc)
    if n_tokens == 0:
        return numpy.zeros((0, max_chars), dtype="int64")
    code_points = numpy.frombuffer(doc.text.encode("utf-32-le"), dtype="<u4").astype("int64")
    offsets_lengths = doc.to_array([IDX, LENGTH]).astype("int64")
    starts, lengths = offsets_lengths[:, 0], offsets_lengths[:, 1]
    positions = starts[:, None] + numpy.arange(max_chars)[None, :]
    inside = numpy.arange(max_chars)[None, :] < lengths[:, None]
    positions = numpy.where(inside, positions, 0)
    ids = code_points[positions] % (n_rows - 1) + 1
    return numpy.where(inside, ids, PAD_ID)


class CharCNN(nn.Module):
    """``(n_tokens, max_chars)`` character ids → ``(n_tokens, width)`` word vectors.

    Dropout follows the explicit ``is_train`` flag (not the module's shared training
    state). Without gradients (prediction) tokens are encoded in chunks, so the
    ``(n_tokens, width, max_chars)`` activations of a long document never exist at once.
    """

    chunk_size = 4096

    def __init__(self, n_rows: int, embed_width: int, width: int, window: int, dropout: float):
        super().__init__()
        self.embed = nn.Embedding(n_rows, embed_width, padding_idx=PAD_ID)
        self.dropout = dropout
        self.conv = nn.Conv1d(embed_width, width, kernel_size=2 * window + 1, padding=window)

    def forward(self, char_ids: torch.Tensor, is_train: bool) -> torch.Tensor:
        if char_ids.shape[0] == 0:  # keep the graph connected for backprop
            return self.embed.weight.new_zeros((0, self.conv.out_channels)) + 0.0 * self.conv.weight.sum()
        if torch.is_grad_enabled() or char_ids.shape[0] <= self.chunk_size:
            return self._encode(char_ids, is_train)
        return torch.cat([self._encode(chunk, is_train) for chunk in char_ids.split(self.chunk_size)])

    def _encode(self, char_ids: torch.Tensor, is_train: bool) -> torch.Tensor:
        mask = (char_ids != PAD_ID).unsqueeze(1)  # (n, 1, L)
        X = F.dropout(self.embed(char_ids), self.dropout, training=is_train).transpose(1, 2)  # (n, E, L)
        H = self.conv(X).masked_fill(~mask, float("-inf"))
        return H.max(dim=2).values.float()  # every token has at least one character


def _convert_inputs(
    model: Model, docs: List[Doc], is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], List[Doc]]]:
    ensure_torch_after_fork()
    shim = cast(PyTorchShim, model.shims[0])
    max_chars, n_rows = model.attrs["max_chars"], model.attrs["n_rows"]
    ids = [doc_char_ids(doc, max_chars, n_rows) for doc in docs]
    all_ids = numpy.concatenate(ids) if ids else numpy.zeros((0, max_chars), "int64")
    tensor = torch.as_tensor(all_ids, device=shim.device)
    return ArgsKwargs(args=(tensor, is_train), kwargs={}), _no_input_gradient


def _no_input_gradient(d_inputs: ArgsKwargs) -> List[Doc]:
    return []


def _convert_outputs(
    model: Model, inputs_outputs: Tuple[List[Doc], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    shim = cast(PyTorchShim, model.shims[0])
    docs, Ytorch = inputs_outputs
    Y = cast(Floats2d, torch2xp(Ytorch))
    lengths = [len(doc) for doc in docs]
    Ys = cast(List[Floats2d], model.ops.unflatten(Y, lengths)) if docs else []

    def backprop(dYs: List[Floats2d]) -> ArgsKwargs:
        dY = xp2torch(model.ops.flatten(dYs), device=shim.device) if dYs else None
        return ArgsKwargs(args=(Ytorch,), kwargs={"grad_tensors": dY})

    return Ys, backprop


def char_cnn_layer(
    width: int,
    n_rows: int,
    embed_width: int,
    window: int,
    max_chars: int,
    dropout: float,
) -> Model[List[Doc], List[Floats2d]]:
    """thinc layer: one ``(n_tokens, width)`` array per document."""
    module = CharCNN(n_rows, embed_width, width, window, dropout)
    layer = PyTorchWrapper_v2(
        module, convert_inputs=_convert_inputs, convert_outputs=_convert_outputs
    )
    layer.attrs["max_chars"] = max_chars
    layer.attrs["n_rows"] = n_rows
    layer.set_dim("nO", width)
    return layer
