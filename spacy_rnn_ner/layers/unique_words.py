"""Context-free token features computed once per distinct word of a batch.

:func:`token_features_forward` runs every context-free feature layer (hash embeddings
and static vectors, character encoder, word lists: layers with ``attrs["context_free"]``)
once on ONE doc of the batch's distinct words and gathers the rows per token;
contextual layers (e.g. character LMs) see the docs themselves. At prediction the rows
of the words seen in earlier batches are kept (:class:`FeatureCache`): over a stream of
running text that is more than half of the distinct words of each batch.

Inside, a token's static vector does not depend on its context, yet spaCy's ``StaticVectors``
looks up (and for floret vectors, hashes the n-grams of) every token. Running text
repeats its words, so a batch has about three tokens per distinct word: computing the
rows per distinct ``ORTH`` and gathering them per token gives the same output for a
third of the work, and keeping the computed rows of floret vectors across batches saves
most of the rest. :func:`dedupe_static_vectors` replaces the ``static_vectors`` nodes
of a built model (thinc's ``replace_node``) by :func:`static_vectors_layer`: same name,
params and dims, so saved pipelines load as before.
"""
import functools
import threading
from typing import Callable, List, Optional, Tuple, cast

import numpy
from spacy.attrs import NORM, ORTH
from spacy.tokens import Doc
from spacy.vectors import Mode, Vectors
from spacy.vocab import Vocab
from thinc.api import Model, Ops, glorot_uniform_init
from thinc.shims import PyTorchShim
from thinc.types import Floats2d, Ragged
from thinc.util import torch2xp

from ..errors import config_error
from .caches import RowCache, transient
from .floret_rows import floret_vectors
from .long_segments import prediction_only
from .packed_rnn import torch_module

VECTOR_CACHE_ROWS = 200_000
#: distinct words whose context-free feature rows are kept between prediction batches
FEATURE_CACHE_ROWS = 50_000
#: keys per ``Vectors.get_batch`` call of :class:`VectorCache`
GET_BATCH_KEYS = 1024


def unique_keys(docs: List[Doc], attr: int = ORTH) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The distinct ``attr`` values of the docs' tokens and, per token, its index in them."""
    keys = numpy.concatenate([doc.to_array(attr) for doc in docs]) if docs else numpy.zeros((0,), "uint64")
    unique, inverse = numpy.unique(keys, return_inverse=True)
    return unique, inverse.reshape(-1)


def unique_words(docs: List[Doc]) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The batch's distinct words as ``(ORTH, NORM)`` rows (a tokenizer exception may
    give a token its own norm) and, per token, its row."""
    keys = numpy.concatenate([doc.to_array([ORTH, NORM]) for doc in docs])
    _, first, inverse = numpy.unique(keys[:, 0], return_index=True, return_inverse=True)
    unique = keys[first]
    if (unique[inverse, 1] != keys[:, 1]).any():  # a text with two norms: pairs (16x slower)
        unique, inverse = numpy.unique(keys, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def words_doc(vocab: Vocab, words: numpy.ndarray) -> Doc:
    """One doc of ``(ORTH, NORM)`` rows: the words with their norms."""
    strings = vocab.strings
    doc = Doc(vocab, words=[strings[orth] for orth in words[:, 0].tolist()])
    doc.from_array([NORM], numpy.ascontiguousarray(words[:, 1:]))
    return doc


def token_features_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    """thinc's ``concatenate`` of the feature layers (one array per doc), with the
    context-free layers run once on a doc of the batch's distinct words; at prediction
    their rows come from the model's :class:`FeatureCache`."""
    ops = model.ops
    lengths = [len(doc) for doc in docs]
    context_free = [layer.attrs.get("context_free", False) for layer in model.layers]
    use_words = any(context_free) and sum(lengths) > 0
    if use_words:
        words, inverse = unique_words(docs)
        inverse_xp = ops.asarray1i(inverse)
        if is_train:
            doc_of_words = words_doc(docs[0].vocab, words)
        else:
            free_layers = [layer for layer, free in zip(model.layers, context_free) if free]
            cache = transient(model, "_feature_cache", None, lambda: FeatureCache(free_layers, ops, FEATURE_CACHE_ROWS))
            free_rows = cache.features(docs[0].vocab, words)
            if all(context_free):  # the usual case: one gather is the output
                return ops.unflatten(free_rows[inverse_xp], lengths), prediction_only
    parts, backprops = [], []
    column = 0
    for layer, free in zip(model.layers, context_free):
        if use_words and free and not is_train:
            width = layer.get_dim("nO")
            parts.append(free_rows[inverse_xp, column : column + width])
            backprops.append(prediction_only)
            column += width
            continue
        if use_words and free:
            (Y,), backprop = layer([doc_of_words], is_train)
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
            if use_words and free:
                d_words = ops.alloc2f(len(words), width)
                ops.scatter_add(d_words, inverse_xp, d_part)
                layer_backprop([d_words])
            else:
                layer_backprop(ops.unflatten(d_part, lengths) if docs else [])
        return docs

    return (ops.unflatten(output, lengths) if docs else []), backprop


class FeatureCache(RowCache):
    """The rows of the context-free feature layers (side by side) per word
    (``(ORTH, NORM)``), kept between prediction batches while what they are computed
    from stays the same: checked every batch, a change clears the cache. That is the
    layers' parameters (one random projection of each, so an optimizer step in place,
    ``use_params`` and ``from_bytes`` are seen), the objects in their attrs (word
    lists...) and the vocab with its vectors table (held, compared by identity). Layers
    with other than thinc or PyTorch parameters are computed every batch."""

    def __init__(self, layers: List[Model], ops: Ops, max_rows: int) -> None:
        super().__init__(self._compute, ops, sum(layer.get_dim("nO") for layer in layers), max_rows)
        self.layers = layers
        self.vocab: Optional[Vocab] = None
        self.sources: List[object] = []
        self.sketch: Optional[List[float]] = None
        self._projection = ops.alloc1f(0)
        self._state_lock = threading.Lock()

    def features(self, vocab: Vocab, words: numpy.ndarray) -> Floats2d:
        """The feature rows of the ``(ORTH, NORM)`` rows ``words``, on the device."""
        sources = [vocab, vocab.vectors] + [value for layer in self.layers for node in layer.walk()
                                            for value in node.attrs.values()]
        with self._state_lock:
            sketch = self._sketch()
            if sketch is None:  # parameters it cannot see: nothing is kept
                self.vocab = vocab
                return self._compute(words)
            if sketch != self.sketch or len(sources) != len(self.sources) \
                    or any(a is not b for a, b in zip(sources, self.sources)):
                self.clear()
                self.vocab, self.sources, self.sketch = vocab, sources, sketch
            return self.get([tuple(word) for word in words.tolist()])

    def _compute(self, words) -> Floats2d:
        doc = words_doc(cast(Vocab, self.vocab), numpy.asarray(words, dtype="uint64").reshape(-1, 2))
        return self.ops.xp.hstack([layer.predict([doc])[0] for layer in self.layers])

    def _sketch(self) -> Optional[List[float]]:
        """One random projection per parameter array of the layers (None when a layer
        has parameters outside thinc and PyTorch)."""
        arrays = []
        for layer in self.layers:
            for node in layer.walk():
                arrays.extend(node.get_param(name) for name in node.param_names if node.has_param(name))
                for shim in node.shims:
                    if not isinstance(shim, PyTorchShim):
                        return None
                    arrays.extend(torch2xp(param.detach()) for param in torch_module(node).parameters())
        size = max((array.size for array in arrays), default=0)
        if size > self._projection.shape[0]:
            self._projection = self.ops.asarray1f(numpy.random.default_rng(0).standard_normal(size).astype("f"))
        return [float(self.ops.xp.dot(array.ravel(), self._projection[: array.size])) for array in arrays]


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


class VectorCache(RowCache):
    """Rows of a computed vectors table (floret: hashed subword n-grams, the costly
    part) per key, kept across batches (:class:`RowCache`). They depend on the table
    alone, so they stay valid while the model's parameters change."""

    def __init__(self, vectors, ops: Ops, max_rows: int) -> None:
        super().__init__(self._computed, ops, vectors.shape[1], max_rows)
        self.vectors = vectors

    def _computed(self, keys) -> Floats2d:
        """The vectors of ``keys`` from the table, :data:`GET_BATCH_KEYS` keys at a time:
        floret gathers about 40 rows per word before averaging them, and for a long
        document that temporary array (hundreds of MB at once) costs more than the sums."""
        ops = self.ops
        keys = numpy.asarray(keys, dtype="uint64")
        if isinstance(self.vectors, Vectors) and self.vectors.mode == Mode.floret:
            get_batch = functools.partial(floret_vectors, self.vectors, ops=ops)  # the same rows, vectorized
        else:
            get_batch = self.vectors.get_batch
        return ops.xp.concatenate([ops.asarray2f(get_batch(keys[i: i + GET_BATCH_KEYS]))
                                   for i in range(0, len(keys), GET_BATCH_KEYS)])


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
