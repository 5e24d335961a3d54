"""Run a sequence layer over each sentence of a document instead of the whole document.

A recurrent network trained on sentences sees each sentence start as a sequence start;
run over a whole document it would see the same positions mid-sequence. Splitting
every document at its sentence starts (when it has them: a ``sentencizer``, a parser
or the corpus set them) keeps training and prediction alike, whatever the documents'
length. Documents without sentence boundaries are one segment.
"""
from typing import Callable, List, Tuple

import numpy
from spacy.attrs import SENT_START
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d


def sentence_lengths(doc: Doc) -> List[int]:
    """Token counts of the doc's sentences (``[len(doc)]`` without sentence starts)."""
    if len(doc) == 0:
        return []
    if not doc.has_annotation("SENT_START"):
        return [len(doc)]
    starts = numpy.flatnonzero(doc.to_array(SENT_START) == 1)
    if len(starts) == 0 or starts[0] != 0:
        starts = numpy.concatenate([[0], starts])
    return numpy.diff(numpy.append(starts, len(doc))).tolist()


def with_sentence_segments(
    tok2vec: Model[List[Doc], List[Floats2d]], layer: Model[List[Floats2d], List[Floats2d]]
) -> Model[List[Doc], List[Floats2d]]:
    """``tok2vec`` over the docs, then ``layer`` over each sentence's token vectors."""
    return Model(
        f"sentences({layer.name})",
        _forward,
        init=_init,
        layers=[tok2vec, layer],
        dims={"nO": layer.get_dim("nO")},
    )


def _init(model: Model, X=None, Y=None) -> None:
    tok2vec, layer = model.layers
    tok2vec.initialize(X=X)
    layer.initialize(X=tok2vec.predict(X) if X is not None else None)


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    tok2vec, layer = model.layers
    ops = model.ops
    Xs, backprop_tok2vec = tok2vec(docs, is_train)
    per_doc = [sentence_lengths(doc) for doc in docs]
    segments = [
        piece
        for X, lengths in zip(Xs, per_doc)
        for piece in (ops.unflatten(X, ops.asarray1i(lengths)) if lengths else [])
    ]
    Ys_segments, backprop_layer = layer(segments, is_train)
    n_segments = [len(lengths) for lengths in per_doc]
    Ys = _join(ops, Ys_segments, n_segments, layer.get_dim("nO"))

    def backprop(dYs: List[Floats2d]) -> List[Doc]:
        d_segments = [
            piece
            for dY, lengths in zip(dYs, per_doc)
            for piece in (ops.unflatten(dY, ops.asarray1i(lengths)) if lengths else [])
        ]
        dXs = _join(ops, backprop_layer(d_segments), n_segments, tok2vec.get_dim("nO"))
        return backprop_tok2vec(dXs)

    return Ys, backprop


def _join(ops, pieces: List[Floats2d], n_per_doc: List[int], width: int) -> List[Floats2d]:
    """Concatenate consecutive pieces back into one array per document."""
    joined, i = [], 0
    for n in n_per_doc:
        joined.append(ops.flatten(pieces[i : i + n]) if n else ops.alloc2f(0, width))
        i += n
    return joined
