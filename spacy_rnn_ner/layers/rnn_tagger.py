"""The tagger's data flow: docs → token vectors → sentence segments → RNN → tag scores.

The sentence segment is the unit from the token vectors to the decoded entities: the
token vectors of all docs are flattened once, the RNN runs over each segment (a sentence
when the doc has sentence starts, else the whole doc) as one packed batch, the output
layer scores the flat array, and the component decodes each segment. The per-doc
outputs are views into the flat scores.
"""
from typing import Callable, List, Optional, Tuple

import numpy
from spacy.attrs import SENT_START
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

from .packed_rnn import set_rnn_input_width


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


def segment_lengths(docs: List[Doc], sentence_level: bool) -> numpy.ndarray:
    """Lengths of the segments the RNN and the decoder run over, in doc order."""
    if sentence_level:
        lengths = [n for doc in docs for n in sentence_lengths(doc)]
    else:
        lengths = [len(doc) for doc in docs if len(doc)]
    return numpy.asarray(lengths, dtype="int64")


def rnn_tagger_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    rnn: Model,
    output_layer: Model[Floats2d, Floats2d],
    sentence_level: bool,
    legacy_layout: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """``tok2vec`` per doc, ``rnn`` over the flat segments, ``output_layer`` per token.

    legacy_layout: arrange the layers as ``RNNTagger.v1`` saved them
        (``chain(sentences(tok2vec, rnn), with_array(output))``), so pipelines trained
        with v1 load; the computation is the same.
    """
    if legacy_layout:
        sentences = Model(
            f"sentences({rnn.name})", _structural_forward, layers=[tok2vec, rnn],
            dims={"nO": rnn.get_dim("nO")},
        )
        with_array = Model(
            f"with_array({output_layer.name})", _structural_forward, layers=[output_layer],
            dims={"nO": output_layer.maybe_get_dim("nO"), "nI": output_layer.maybe_get_dim("nI")},
            attrs={"pad": 0},
        )
        layers = [sentences, with_array]
    else:
        layers = [tok2vec, rnn, output_layer]
    model = Model(
        "rnn_tagger",
        _forward,
        init=_init,
        layers=layers,
        dims={"nO": output_layer.maybe_get_dim("nO")},
        attrs={"sentence_level": sentence_level},
        refs={"tok2vec": tok2vec, "rnn": rnn, "output_layer": output_layer},
    )
    return model


def _structural_forward(model: Model, X, is_train: bool):
    raise NotImplementedError(f"{model.name} only groups layers of an RNNTagger.v1 model.")


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    tok2vec, rnn, output_layer = (model.get_ref(n) for n in ("tok2vec", "rnn", "output_layer"))
    tok2vec.initialize(X=X)
    if rnn.get_dim("nI") is None:
        width = tok2vec.maybe_get_dim("nO")
        if width is None:
            raise ValueError(
                f"RNNTagger: the width of the tok2vec layer {tok2vec.name!r} is unknown; give "
                "its width in the config (e.g. the listener's 'width') or initialize it first."
            )
        set_rnn_input_width(rnn, width)
    rnn.initialize()
    output_layer.initialize()
    model.set_dim("nO", output_layer.get_dim("nO"), force=True)


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    tok2vec, rnn, output_layer = (model.get_ref(n) for n in ("tok2vec", "rnn", "output_layer"))
    ops = model.ops
    Xs, backprop_tok2vec = tok2vec(docs, is_train)
    doc_lengths = [len(X) for X in Xs]
    X = ops.flatten(Xs) if Xs else ops.alloc2f(0, rnn.get_dim("nI"))
    lengths = segment_lengths(docs, model.attrs["sentence_level"])
    H, backprop_rnn = rnn((X, lengths), is_train)
    P, backprop_output = output_layer(H, is_train)
    Ps = ops.unflatten(P, doc_lengths) if docs else []

    def backprop(dPs: List[Floats2d]) -> List[Doc]:
        dP = ops.flatten(dPs) if dPs else ops.alloc2f(0, P.shape[1])
        dX = backprop_rnn(backprop_output(dP))
        return backprop_tok2vec(ops.unflatten(dX, doc_lengths) if docs else [])

    return Ps, backprop
