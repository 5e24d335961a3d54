"""Context-free token features computed once per distinct word of a batch.

:func:`token_features_forward` runs every context-free feature layer (hash embeddings
and static vectors, character encoder, word lists: layers with ``attrs["context_free"]``)
once on ONE doc of the batch's distinct words and gathers the rows per token;
contextual layers (e.g. character LMs) see the docs themselves.

Inside, a token's static vector does not depend on its context, yet spaCy's ``StaticVectors``
looks up (and for floret vectors, hashes the n-grams of) every token. Running text
repeats its words, so a batch has about three tokens per distinct word: computing the
rows per distinct ``ORTH`` and gathering them per token gives the same output for a
third of the work, and keeping the computed rows of floret vectors across batches saves
most of the rest. :func:`dedupe_static_vectors` replaces the ``static_vectors`` nodes
of a built model (thinc's ``replace_node``) by :func:`static_vectors_layer`: same name,
params and dims, so saved pipelines load as before.
"""
import threading
from collections import OrderedDict
from typing import Callable, List, Optional, Tuple, cast

import numpy
from spacy.attrs import NORM, ORTH
from spacy.tokens import Doc
from spacy.vectors import Mode, Vectors
from thinc.api import Model, Ops, glorot_uniform_init
from thinc.types import Floats2d, Ragged

from ..errors import config_error
from .caches import transient

VECTOR_CACHE_ROWS = 200_000
#: keys per ``Vectors.get_batch`` call of :class:`VectorCache`
GET_BATCH_KEYS = 1024


def unique_keys(docs: List[Doc], attr: int = ORTH) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The distinct ``attr`` values of the docs' tokens and, per token, its index in them."""
    keys = numpy.concatenate([doc.to_array(attr) for doc in docs]) if docs else numpy.zeros((0,), "uint64")
    unique, inverse = numpy.unique(keys, return_inverse=True)
    return unique, inverse.reshape(-1)


def distinct_words(docs: List[Doc]) -> Tuple[Doc, numpy.ndarray]:
    """One doc of the batch's distinct words (same text and norm: a tokenizer exception
    may give a token its own norm) and, per token, its index in that doc."""
    vocab = docs[0].vocab
    keys = numpy.concatenate([doc.to_array([ORTH, NORM]) for doc in docs])
    unique, inverse = numpy.unique(keys, axis=0, return_inverse=True)
    strings = vocab.strings
    doc = Doc(vocab, words=[strings[orth] for orth in unique[:, 0].tolist()])
    doc.from_array([NORM], numpy.ascontiguousarray(unique[:, 1:]))
    return doc, inverse.reshape(-1)


def token_features_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    """thinc's ``concatenate`` of the feature layers (one array per doc), with the
    context-free layers run once on a doc of the batch's distinct words."""
    ops = model.ops
    lengths = [len(doc) for doc in docs]
    context_free = [layer.attrs.get("context_free", False) for layer in model.layers]
    if any(context_free) and sum(lengths):
        words, inverse = distinct_words(docs)
        inverse_xp = ops.asarray1i(inverse)
    parts, backprops = [], []
    for layer, free in zip(model.layers, context_free):
        if free and sum(lengths):
            (Y,), backprop = layer([words], is_train)
            parts.append(Y[inverse_xp])
        else:
            Ys, backprop = layer(docs, is_train)
            parts.append(ops.flatten(Ys) if Ys else ops.alloc2f(0, layer.get_dim("nO")))
        backprops.append(backprop)
    widths = [part.shape[1] for part in parts]
    output = ops.xp.hstack(parts)

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        d_output = ops.flatten(d_outputs) if d_outputs else ops.alloc2f(0, sum(widths))
        start = 0
        for layer_backprop, free, width in zip(backprops, context_free, widths):
            d_part = ops.as_contig(d_output[:, start : start + width])
            start += width
            if free and sum(lengths):
                d_words = ops.alloc2f(len(words), width)
                ops.scatter_add(d_words, inverse_xp, d_part)
                layer_backprop([d_words])
            else:
                layer_backprop(ops.unflatten(d_part, lengths) if docs else [])
        return docs

    return (ops.unflatten(output, lengths) if docs else []), backprop


def static_vectors_forward(model: Model[List[Doc], Ragged], docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    """spaCy's ``StaticVectors`` forward, computed per distinct key."""
    if not sum(len(doc) for doc in docs):
        return Ragged(model.ops.alloc2f(0, model.get_dim("nO")), model.ops.alloc1i(0)), no_gradient
    ops = model.ops
    vectors = docs[0].vocab.vectors
    keys, inverse = unique_keys(docs, getattr(vectors, "attr", ORTH))
    W = cast(Floats2d, ops.as_contig(model.get_param("W")))
    rows = None
    if isinstance(vectors, Vectors) and vectors.mode == Mode.default:
        rows = vectors.find(keys=keys)
        V = ops.as_contig(ops.asarray(vectors.data)[ops.asarray1i(rows)])
    else:
        cache = transient(model, "_vector_cache", vectors, lambda: VectorCache(vectors, ops, VECTOR_CACHE_ROWS))
        V = cache.get(keys)
    projected = ops.gemm(V, W, trans2=True)
    if rows is not None:
        projected[ops.asarray1i(rows) < 0] = 0
    inverse_xp = ops.asarray1i(inverse)
    output = Ragged(projected[inverse_xp], ops.asarray1i([len(doc) for doc in docs]))
    rate = model.attrs.get("dropout_rate")
    mask = ops.get_dropout_mask((W.shape[0],), rate) if is_train and rate is not None else None
    if mask is not None:
        output.data *= mask

    def backprop(d_output: Ragged) -> List[Doc]:
        d_data = cast(Floats2d, d_output.data)
        if mask is not None:
            d_data = d_data * mask
        d_unique = ops.alloc2f(len(keys), d_data.shape[1])
        ops.scatter_add(d_unique, inverse_xp, d_data)
        model.inc_grad("W", ops.gemm(d_unique, V, trans1=True))
        return []

    return output, backprop


class VectorCache:
    """Rows of a computed vectors table (floret: hashed subword n-grams, the costly
    part) per key, kept across batches (running text repeats its words) in one table on
    the vectors' device: at most ``max_rows``, the least recently used replaced first.
    Thread-safe (one lock around each lookup)."""

    def __init__(self, vectors, ops: Ops, max_rows: int) -> None:
        self.vectors = vectors
        self.ops = ops
        self.max_rows = max_rows
        self.rows: "OrderedDict[int, int]" = OrderedDict()  # key -> row of table, oldest first
        self.table = ops.alloc2f(0, vectors.shape[1])
        self._lock = threading.Lock()

    def get(self, keys: numpy.ndarray) -> Floats2d:
        """The vectors of distinct ``keys`` (host uint64), on the device."""
        ops = self.ops
        if len(keys) > self.max_rows:  # more than the cache holds: computed, not kept
            return self._computed(keys)
        with self._lock:
            rows = self.rows
            missing = []
            for key in keys.tolist():
                if key in rows:
                    rows.move_to_end(key)
                else:
                    missing.append(key)
            if missing:
                free = self._free_rows(len(missing))
                self.table[ops.asarray1i(free)] = self._computed(numpy.asarray(missing, dtype="uint64"))
                rows.update(zip(missing, free))
            return self.table[ops.asarray1i([rows[key] for key in keys.tolist()])]

    def _computed(self, keys: numpy.ndarray) -> Floats2d:
        """The vectors of ``keys`` from the table, :data:`GET_BATCH_KEYS` keys at a time:
        floret gathers about 40 rows per word before averaging them, and for a long
        document that temporary array (hundreds of MB at once) costs more than the sums."""
        ops = self.ops
        return ops.xp.concatenate([ops.asarray2f(self.vectors.get_batch(keys[i: i + GET_BATCH_KEYS]))
                                   for i in range(0, len(keys), GET_BATCH_KEYS)])

    def _free_rows(self, n: int) -> List[int]:
        """``n`` rows to fill: new ones while the table may grow, then those of the
        least recently used keys."""
        size = len(self.rows)
        new = list(range(size, min(size + n, self.max_rows)))
        if new and new[-1] >= self.table.shape[0]:  # grow (doubling) up to max_rows
            grown = self.ops.alloc2f(min(max(2 * self.table.shape[0], new[-1] + 1), self.max_rows), self.table.shape[1])
            grown[: self.table.shape[0]] = self.table
            self.table = grown
        return new + [self.rows.popitem(last=False)[1] for _ in range(n - len(new))]


def no_gradient(d_output) -> List[Doc]:
    """The backprop of a layer that reads docs and learns nothing: no gradient to pass on."""
    return []


def static_vectors_layer(
    nO: Optional[int] = None, nM: Optional[int] = None, dropout: Optional[float] = None
) -> Model[List[Doc], Ragged]:
    """spaCy's ``StaticVectors`` (same name, params, dims and attrs, so saved pipelines
    load) computed per distinct key, whose init names the missing vectors table."""
    return Model(
        "static_vectors",
        static_vectors_forward,
        init=_init_static_vectors,
        params={"W": None},
        attrs={"key_attr": "ORTH", "dropout_rate": dropout},
        dims={"nO": nO, "nM": nM},
    )


def _init_static_vectors(model: Model, X: Optional[List[Doc]] = None, Y: Optional[Ragged] = None) -> None:
    nM = model.maybe_get_dim("nM")
    if X:
        vectors = X[0].vocab.vectors
        if vectors.shape[0] == 0 or vectors.shape[1] == 0:
            raise config_error(
                "initialize", "vectors",
                "the model uses static vectors (include_static_vectors = true) but the pipeline "
                "has no vectors. Set [initialize] vectors (e.g. --paths.vectors) to a vectors "
                "table, or set include_static_vectors = false."
            )
        nM = vectors.shape[1]
    nO = Y.data.shape[1] if Y is not None else model.maybe_get_dim("nO")
    if nM is None or nO is None:
        raise ValueError("static vectors layer: the widths nO and nM are unknown; initialize it with sample docs.")
    model.set_dim("nM", nM)
    model.set_dim("nO", nO)
    model.set_param("W", glorot_uniform_init(model.ops, (nO, nM)))


def dedupe_static_vectors(model: Model) -> Model:
    """``model`` with every ``static_vectors`` node replaced by :func:`static_vectors_layer`
    (the node itself when ``model`` is one)."""

    def replacement(node: Model) -> Model:
        return static_vectors_layer(node.maybe_get_dim("nO"), node.maybe_get_dim("nM"), node.attrs.get("dropout_rate"))

    if model.name == "static_vectors":
        return replacement(model)
    for node in list(model.walk()):
        if node.name == "static_vectors":
            model.replace_node(node, replacement(node))
    return model
