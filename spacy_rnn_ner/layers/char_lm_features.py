"""Contextual token features from frozen character language models (Flair-style).

A forward and a backward character LM (see :mod:`spacy_rnn_ner.layers.char_lm_model`) read each
sentence (each doc without sentence starts) as its tokens joined by single spaces,
after a ``"\\n"`` start marker. A token's features are the forward LM's hidden state
after the token's last character and the backward LM's state after the token's first
character (reading right to left), concatenated and optionally projected by a trainable
linear layer to ``width``.

The LMs are read from ``forward_path`` / ``backward_path`` at ``initialize`` and saved
inside the model (the PyTorch shim's bytes), so a trained pipeline loads without the
files. Sentences are run in batches of similar length and long ones in time windows
(the LSTM state carried over), so memory stays bounded whatever the doc's length.
"""
from io import BytesIO
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, cast

import numpy
import torch
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, get_torch_default_device
from thinc.shims import PyTorchShim
from thinc.types import Floats2d
from thinc.util import torch2xp, xp2torch
from torch import nn
from torch.nn import functional as F

from ..errors import config_error
from .char_lm_model import CharLanguageModel, CharLM, CharVocab
from .code_points import code_points
from .fork_safety import ensure_torch_after_fork
from .caches import LRUCache
from .packed_rnn import inverse_permutation, torch_module
from .rnn_tagger import sentence_lengths
from .unique_words import no_gradient

ARCH = "spacy_rnn_ner.CharLMFeatures.v1"

FORMAT = "spacy_rnn_ner.char_lm_features.v1"
START_MARKER = "\n"
SEPARATOR = 32  # code point of the space joining the tokens
# (fw_ids, fw_cols, bw_ids, bw_cols, key): one sentence's LM inputs, see segment_inputs
Segment = Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray, bytes]


class CharLMFeatureNet(nn.Module):
    """The two LMs (empty until loaded), the optional projection and, for frozen LMs,
    a cache of LM states per sentence (not serialized).

    ``forward(H, batches, order, training)``: with ``H`` (the LM states, frozen LMs)
    only dropout and the projection run; else the LMs run over ``batches`` (a list of
    ``(fw_ids, fw_rows, fw_cols, bw_ids, bw_rows, bw_cols)``; rows/cols index the states
    to read) and ``order`` puts the batches' tokens back into document order.
    """

    def __init__(self, fine_tune: bool = False, dropout: float = 0.0, window: int = 1024,
                 cache_tokens: int = 0) -> None:
        super().__init__()
        self.fine_tune, self.dropout, self.window = fine_tune, dropout, window
        self.cache_tokens = cache_tokens
        self.lms = nn.ModuleList()
        self.vocabs: List[CharVocab] = []
        self.projection: Optional[nn.Linear] = None
        self.cache = state_cache(cache_tokens)

    @property
    def loaded(self) -> bool:
        return len(self.lms) == 2

    @property
    def lm_width(self) -> int:
        return sum(lm.hidden_width for lm in self.lms)

    def set_lms(self, forward_lm: CharLanguageModel, backward_lm: CharLanguageModel,
                width: Optional[int]) -> None:
        if forward_lm.direction != "forward" or backward_lm.direction != "backward":
            raise config_error(ARCH, "forward_path", "CharLMFeatures: forward_path must hold a forward LM "
                               f"and backward_path a backward LM (got {forward_lm.direction} and "
                               f"{backward_lm.direction})")
        self.lms = nn.ModuleList([forward_lm.net, backward_lm.net])
        self.vocabs = [forward_lm.vocab, backward_lm.vocab]
        for param in self.lms.parameters():
            param.requires_grad_(self.fine_tune)
        self.projection = nn.Linear(self.lm_width, width) if width is not None else None
        self.cache = state_cache(self.cache_tokens)

    def lm_states(self, batches: List[Tuple[torch.Tensor, ...]], order: torch.Tensor) -> torch.Tensor:
        """``(n_tokens, lm_width)``: the forward ⊕ backward states at the word boundaries,
        rounded to float16 precision (so cached and fresh states are the same)."""
        pieces = []
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.fine_tune):
            for batch in batches:
                fw = read_states(self.lms[0], *batch[:3], window=self.window)
                bw = read_states(self.lms[1], *batch[3:], window=self.window)
                pieces.append(torch.cat([fw, bw], dim=1))
        if not pieces:
            return torch.zeros((0, self.lm_width), device=order.device)
        H = torch.cat(pieces)[order]
        return H + (H.half().float() - H).detach()  # float16 values, gradient of the identity

    def forward(self, H: Optional[torch.Tensor], batches: Optional[List[Tuple[torch.Tensor, ...]]] = None,
                order: Optional[torch.Tensor] = None, training: bool = False) -> torch.Tensor:
        if H is None:
            H = self.lm_states(batches or [], cast(torch.Tensor, order))
        H = F.dropout(H, self.dropout, training=training)
        return self.projection(H) if self.projection is not None else H


def state_cache(max_tokens: int) -> LRUCache:
    """LM states (float16 arrays) per sentence string, at most ``max_tokens`` token rows."""
    return LRUCache(max_tokens, size=len)


def cached_lm_states(net: CharLMFeatureNet, segments: List[Segment], batch_chars: int,
                     device: torch.device) -> torch.Tensor:
    """The frozen LMs' states for all segments' tokens, running the LMs only over the
    segments not in the cache."""
    pieces: List[Optional[numpy.ndarray]] = [net.cache.get(seg[4]) for seg in segments]
    missing = [i for i, piece in enumerate(pieces) if piece is None]
    if missing:
        batches, order = make_batches([segments[i] for i in missing], batch_chars, device)
        with torch.no_grad():
            H = net.lm_states(batches, order).half().cpu().numpy()
        ends = numpy.cumsum([len(segments[i][1]) for i in missing])
        for i, states in zip(missing, numpy.split(H, ends[:-1])):
            pieces[i] = states
            net.cache.put(segments[i][4], states)
    if not pieces:
        return torch.zeros((0, net.lm_width), device=device)
    flat = numpy.concatenate(cast(List[numpy.ndarray], pieces))
    return torch.as_tensor(flat, device=device).float()


def read_states(lm: CharLM, ids: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                window: int) -> torch.Tensor:
    """Hidden states ``H[rows[i], cols[i]]`` of ``lm`` over ``ids`` ``(batch, time)``,
    run ``window`` characters at a time (right padding never reaches real positions:
    the LM reads left to right)."""
    n = rows.shape[0]
    if n == 0:
        return torch.zeros((0, lm.hidden_width), device=ids.device)
    pieces, found = [], []
    state = None
    for start in range(0, ids.shape[1], window):
        H, state = lm(ids[:, start : start + window], state)
        inside = torch.nonzero((cols >= start) & (cols < start + window)).squeeze(1)
        if inside.numel():
            pieces.append(H[rows[inside], cols[inside] - start])
            found.append(inside)
    states = torch.cat(pieces)
    ordered = states.new_empty((n, states.shape[1]))
    ordered[torch.cat(found)] = states
    return ordered


def joined_tokens(doc: Doc) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """The doc's tokens joined by single spaces, as code points, and each token's
    ``[start, end)`` in that string."""
    idx_len = doc.to_array([IDX, LENGTH]).astype("int64").reshape(-1, 2)
    idx, lengths = idx_len[:, 0], idx_len[:, 1]
    starts = numpy.concatenate([[0], numpy.cumsum(lengths + 1)[:-1]]).astype("int64")
    total = int(lengths.sum() + max(len(lengths) - 1, 0))
    chars = code_points(doc.text)
    joined = numpy.full(total, SEPARATOR, dtype="int64")
    token_of_char = numpy.repeat(numpy.arange(len(lengths)), lengths)
    offset = numpy.arange(int(lengths.sum())) - numpy.repeat(numpy.cumsum(lengths) - lengths, lengths)
    joined[starts[token_of_char] + offset] = chars[idx[token_of_char] + offset]
    return joined, starts, starts + lengths


def segment_inputs(docs: List[Doc], vocabs: List[CharVocab], sentence_level: bool) -> List[Segment]:
    """One ``(fw_ids, fw_cols, bw_ids, bw_cols, key)`` per sentence (or doc), in order.

    ``fw_ids`` = start marker + the sentence's joined tokens; ``fw_cols``: each token's
    last character in it. ``bw_ids`` = start marker + the reversed string; ``bw_cols``:
    each token's first character in it. ``key``: the sentence string in UTF-32-LE (the cache key).
    """
    segments: List[Segment] = []
    for doc in docs:
        if len(doc) == 0:
            continue
        joined, starts, ends = joined_tokens(doc)
        fw_all = vocabs[0].encode_code_points(joined)
        bw_all = vocabs[1].encode_code_points(joined)
        fw_marker, bw_marker = (v.index.get(START_MARKER, 0) for v in vocabs)
        lengths = sentence_lengths(doc) if sentence_level else [len(doc)]
        first = 0
        for n in lengths:
            s, e = int(starts[first]), int(ends[first + n - 1])
            fw_ids = numpy.concatenate([[fw_marker], fw_all[s:e]])
            bw_ids = numpy.concatenate([[bw_marker], bw_all[s:e][::-1]])
            segments.append((fw_ids, ends[first : first + n] - s, bw_ids, e - starts[first : first + n],
                             joined[s:e].astype("<u4").tobytes()))
            first += n
    return segments


def make_batches(segments: List[Segment], batch_chars: int, device: torch.device
                 ) -> Tuple[List[Tuple[torch.Tensor, ...]], torch.Tensor]:
    """Group segments of similar length into padded batches of at most ``batch_chars``
    characters; returns the batches and the order putting their tokens back."""
    lengths = numpy.array([len(seg[0]) for seg in segments], dtype="int64")
    n_tokens = numpy.array([len(seg[1]) for seg in segments], dtype="int64")
    token_start = numpy.concatenate([[0], numpy.cumsum(n_tokens)[:-1]]).astype("int64")
    by_length = numpy.argsort(-lengths, kind="stable")
    batches, token_ids = [], []
    i = 0
    while i < len(by_length):
        width = int(lengths[by_length[i]])  # the longest of the batch
        size = max(1, min(len(by_length) - i, batch_chars // width))
        members = by_length[i : i + size]
        batches.append(_pad_batch([segments[m] for m in members], width, device))
        token_ids.extend(numpy.arange(token_start[m], token_start[m] + n_tokens[m]) for m in members)
        i += size
    flat = numpy.concatenate(token_ids) if token_ids else numpy.zeros(0, dtype="int64")
    return batches, torch.as_tensor(inverse_permutation(flat), device=device)


def _pad_batch(segments: List[Segment], width: int, device: torch.device) -> Tuple[torch.Tensor, ...]:
    out: List[torch.Tensor] = []
    for ids_at, cols_at in ((0, 1), (2, 3)):
        ids = numpy.zeros((len(segments), width), dtype="int64")
        for row, seg in enumerate(segments):
            ids[row, : len(seg[ids_at])] = seg[ids_at]
        rows = numpy.repeat(numpy.arange(len(segments)), [len(seg[cols_at]) for seg in segments])
        cols = numpy.concatenate([seg[cols_at] for seg in segments])
        out.extend(torch.as_tensor(a, device=device) for a in (ids, rows, cols))
    return tuple(out)


def serialize_net(net: CharLMFeatureNet) -> bytes:
    """The LMs (with vocabularies and shapes) and the projection, for ``to_bytes``."""
    content: Dict[str, Any] = {"format": FORMAT, "lms": None, "projection": None}
    if net.loaded:
        lms = [CharLanguageModel.__new__(CharLanguageModel) for _ in range(2)]
        for lm, net_lm, vocab, direction in zip(lms, net.lms, net.vocabs, ("forward", "backward")):
            lm.net, lm.vocab, lm.direction = net_lm, vocab, direction
        content["lms"] = [lm.to_dict() for lm in lms]
        if net.projection is not None:
            content["projection"] = {k: v.detach().cpu() for k, v in net.projection.state_dict().items()}
    buffer = BytesIO()
    torch.save(content, buffer)
    return buffer.getvalue()


def deserialize_net(net: CharLMFeatureNet, data: bytes, device: torch.device) -> CharLMFeatureNet:
    content = torch.load(BytesIO(data), map_location="cpu", weights_only=True)
    if content.get("format") != FORMAT:
        raise ValueError("CharLMFeatures: the saved model is not in the expected format")
    if content["lms"] is not None:
        forward_lm, backward_lm = (CharLanguageModel.from_dict(d, "saved CharLMFeatures") for d in content["lms"])
        projection = content["projection"]
        net.set_lms(forward_lm, backward_lm, projection["weight"].shape[0] if projection else None)
        if net.projection is not None:
            net.projection.load_state_dict(projection)
    net.to(device)
    return net


def char_lm_features_layer(
    forward_path: str,
    backward_path: str,
    width: int,
    projection: bool,
    fine_tune: bool,
    dropout: float,
    sentence_level: bool,
    batch_chars: int,
    window: int,
    cache_tokens: int,
) -> Model[List[Doc], List[Floats2d]]:
    """thinc layer: one ``(n_tokens, width)`` array per doc."""
    net = CharLMFeatureNet(fine_tune, dropout, window, cache_tokens if not fine_tune else 0)
    shim = PyTorchShim(net, serialize_model=serialize_net, deserialize_model=deserialize_net)
    return Model(
        "char_lm_features",
        _forward,
        init=_init,
        dims={"nO": width},
        shims=[shim],
        attrs={"forward_path": forward_path, "backward_path": backward_path, "projection": projection,
               "sentence_level": sentence_level, "batch_chars": batch_chars},
    )


def _net(model: Model) -> CharLMFeatureNet:
    return cast(CharLMFeatureNet, torch_module(model))


def _load_lm(model: Model, setting: str) -> CharLanguageModel:
    """The language model of ``forward_path``/``backward_path``; a missing or damaged file
    is a config error naming it (``spacy train`` prints it without a traceback)."""
    path = model.attrs[setting]
    if not Path(path).is_file():
        raise config_error(ARCH, setting, f"{ARCH}: {setting} {path}: no such file (train it with "
                           "train-char-lm)")
    try:
        return CharLanguageModel.load(path)
    except (OSError, ValueError) as err:  # damaged, not a model (InputError is a ValueError)
        raise config_error(ARCH, setting, f"{ARCH}: {setting}: {err}") from None


def _init(model: Model, X: Optional[List[Doc]] = None, Y: Any = None) -> None:
    forward_lm = _load_lm(model, "forward_path")
    backward_lm = _load_lm(model, "backward_path")
    width = model.get_dim("nO")
    lm_width = forward_lm.net.hidden_width + backward_lm.net.hidden_width
    if not model.attrs["projection"] and width != lm_width:
        raise config_error(ARCH, "width", f"CharLMFeatures: width = {width} but the two LMs give "
                           f"{lm_width} features; set width = {lm_width} or projection = true")
    net = _net(model)
    net.set_lms(forward_lm, backward_lm, width if model.attrs["projection"] else None)
    net.to(get_torch_default_device())


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    ensure_torch_after_fork()
    shim = cast(PyTorchShim, model.shims[0])
    net = _net(model)
    if not net.loaded:
        raise ValueError("CharLMFeatures: the layer is not initialized (no language models loaded).")
    segments = segment_inputs(docs, net.vocabs, model.attrs["sentence_level"])
    if net.fine_tune:  # the LMs run inside the shim, for their gradients
        batches, order = make_batches(segments, model.attrs["batch_chars"], shim.device)
        inputs = ArgsKwargs(args=(None, batches, order), kwargs={"training": is_train})
    else:
        H = cached_lm_states(net, segments, model.attrs["batch_chars"], shim.device)
        inputs = ArgsKwargs(args=(H,), kwargs={"training": is_train})
    lengths = [len(doc) for doc in docs]
    trainable = is_train and any(p.requires_grad for p in net.parameters())
    if not trainable:
        Ytorch = shim.predict(inputs)
        return _split(model, Ytorch, lengths), no_gradient
    Ytorch, torch_backprop = shim(inputs, is_train)

    def backprop(dYs: List[Floats2d]) -> List[Doc]:
        dY = xp2torch(model.ops.flatten(dYs), device=shim.device) if dYs else None
        torch_backprop(ArgsKwargs(args=(Ytorch,), kwargs={"grad_tensors": dY}))
        return []

    return _split(model, Ytorch, lengths), backprop


def _split(model: Model, Ytorch: torch.Tensor, lengths: List[int]) -> List[Floats2d]:
    Y = cast(Floats2d, torch2xp(Ytorch.detach()))
    if not lengths:
        return []
    return cast(List[Floats2d], model.ops.unflatten(Y, model.ops.asarray1i(lengths)))
