"""Character-level word encoder: character embeddings → 1D convolution → max-pool.

Characters are mapped to embedding rows by Unicode code point modulo ``n_rows``, so no
character vocabulary has to be built or stored. Each distinct word of a batch is encoded
once (its vector depends on its text only); the character ids of all distinct words are
gathered from their joined text with array indexing.
"""
from typing import Callable, List, Tuple, cast

import numpy
import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2
from thinc.shims import PyTorchShim
from thinc.types import Floats2d, Ints2d
from torch import nn
from torch.nn import functional as F

from .code_points import code_points
from .fork_safety import ensure_torch_after_fork
from .packed_rnn import convert_outputs
from .unique_words import no_gradient, unique_keys

PAD_ID = 0


def word_char_ids(words: List[str], max_chars: int, n_rows: int) -> Ints2d:
    """``(n_words, max_chars)`` int array of character ids (0 = padding); words longer
    than ``max_chars`` keep their first ``max_chars`` characters."""
    if not words:
        return numpy.zeros((0, max_chars), dtype="int64")
    lengths = numpy.asarray([len(w) for w in words], dtype="int64")
    starts = numpy.concatenate([[0], numpy.cumsum(lengths)[:-1]])
    chars = code_points("".join(words))
    positions = starts[:, None] + numpy.arange(max_chars)[None, :]
    inside = numpy.arange(max_chars)[None, :] < lengths[:, None]
    positions = numpy.where(inside, positions, 0)
    ids = chars[positions] % (n_rows - 1) + 1 if len(chars) else numpy.zeros(positions.shape, "int64")
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

    def forward(self, char_ids: torch.Tensor, inverse: torch.Tensor, is_train: bool) -> torch.Tensor:
        """Encode the distinct words' ``char_ids``; ``inverse`` maps tokens to them."""
        if char_ids.shape[0] == 0:  # keep the graph connected for backprop
            return self.embed.weight.new_zeros((0, self.conv.out_channels)) + 0.0 * self.conv.weight.sum()
        if torch.is_grad_enabled() or char_ids.shape[0] <= self.chunk_size:
            words = self._encode(char_ids, is_train)
        else:
            words = torch.cat([self._encode(chunk, is_train) for chunk in char_ids.split(self.chunk_size)])
        return words[inverse]

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
    # a word's vector depends on its text only: encode each distinct word once
    unique, inverse = unique_keys(docs)
    words = [docs[0].vocab.strings[orth] for orth in unique.tolist()] if docs else []
    word_ids = word_char_ids(words, max_chars, n_rows)
    args = (
        torch.as_tensor(word_ids, device=shim.device),
        torch.as_tensor(inverse, device=shim.device),
        is_train,
    )
    return ArgsKwargs(args=args, kwargs={}), no_gradient


def _convert_outputs(
    model: Model, inputs_outputs: Tuple[List[Doc], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    docs = inputs_outputs[0]
    Y, backprop_flat = convert_outputs(model, inputs_outputs, is_train)
    lengths = [len(doc) for doc in docs]

    def backprop(dYs: List[Floats2d]) -> ArgsKwargs:
        return backprop_flat(model.ops.flatten(dYs) if dYs else None)

    return (cast(List[Floats2d], model.ops.unflatten(Y, lengths)) if docs else []), backprop


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
    layer.attrs["context_free"] = True  # a function of the word alone (see unique_words)
    layer.set_dim("nO", width)
    return layer
