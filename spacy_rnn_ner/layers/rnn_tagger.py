"""The tagger's data flow: docs → token vectors → sentence segments → RNN → tag scores.

The sentence segment is the unit from the token vectors to the decoded entities: the
token vectors of all docs are flattened once, the RNN runs over each segment (a sentence
when the doc has sentence starts, else the whole doc) as one packed batch, the output
layer scores the flat array, and the model returns the flat scores with the segment
lengths (:class:`TagScores`), computed once per batch.

The component uses the model only through its ``attrs``: ``get_loss``, ``decode`` and
``resize_output`` (module-level functions taking the model first, as spaCy's
``resize_output``; they pickle by name).
"""
from contextlib import contextmanager
from typing import Callable, Iterator, List, NamedTuple, Optional, Tuple

import numpy
from spacy.attrs import SENT_START
from spacy.tokens import Doc
from thinc.api import Linear, Model, Softmax_v2
from thinc.types import Floats2d

from ..bio import repair_bio
from ..errors import config_error
from .crf import crf_decode, crf_loss, crf_marginals, no_forward, resized_crf_layer
from .doc_context import doc_context_scores
from .long_segments import prediction_only, run_rnn
from .packed_rnn import set_rnn_input_width

OUTPUTS = ("softmax", "crf")
LOG_EPSILON = 1e-8
# settings from the config that layers keep in their attrs, which thinc also saves: a
# pipeline loaded with other values (spacy.load(path, config=...)) keeps those
CONFIG_ATTRS = ("sentence_level", "batch_chars")


class TagScores(NamedTuple):
    """The model's output: flat ``(n_tokens, n_tags)`` scores of all docs' tokens in
    order (tag probabilities, or CRF emission scores) and the lengths of the segments
    they are decoded over (numpy, in doc order; empty docs have none)."""

    scores: Floats2d
    lengths: numpy.ndarray


@contextmanager
def config_attrs_kept(model: Model) -> Iterator[None]:
    """Put back the :data:`CONFIG_ATTRS` of every node after the block (a
    ``from_bytes``, which would set the saved values)."""
    kept = [(node, name, node.attrs[name]) for node in model.walk() for name in CONFIG_ATTRS if name in node.attrs]
    yield
    for node, name, value in kept:
        node.attrs[name] = value


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


def make_output_layer(output: str, nO: Optional[int], nI: Optional[int]) -> Model[Floats2d, Floats2d]:
    """Tag probabilities (``softmax``) or unnormalised CRF emission scores (``crf``)."""
    if output == "crf":
        return Linear(nO=nO, nI=nI)
    return Softmax_v2(nO=nO, nI=nI, normalize_outputs=True)


def rnn_tagger_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    rnn: Model,
    output_layer: Model[Floats2d, Floats2d],
    sentence_level: bool,
    legacy_layout: bool = False,
    crf: Optional[Model] = None,
    doc_context: Optional[Model] = None,
    context_rnn: Optional[Model] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """``tok2vec`` per doc, ``rnn`` over the flat segments, ``output_layer`` per token.

    doc_context: a layer between the RNN and the output layer that adds each token's
        document context to its RNN state (:mod:`layers.doc_context`); context_rnn: a
        second packed RNN over the segments that reads the RNN states with their context.

    crf: a CRF node holding learned transition scores (:mod:`layers.crf`); the
        model's scores are then the CRF's emission scores.

    legacy_layout: arrange the layers as ``RNNTagger.v1`` saved them
        (``chain(sentences(tok2vec, rnn), with_array(output))``), so pipelines trained
        with v1 load; the computation is the same.
    """
    if legacy_layout:
        sentences = Model(
            f"sentences({rnn.name})", no_forward, layers=[tok2vec, rnn],
            dims={"nO": rnn.get_dim("nO")},
        )
        with_array = Model(
            f"with_array({output_layer.name})", no_forward, layers=[output_layer],
            dims={"nO": output_layer.maybe_get_dim("nO"), "nI": output_layer.maybe_get_dim("nI")},
            attrs={"pad": 0},
        )
        layers = [sentences, with_array]
    else:
        layers = [tok2vec, rnn, doc_context, context_rnn, output_layer, crf]
        layers = [layer for layer in layers if layer is not None]
    refs = {"tok2vec": tok2vec, "rnn": rnn, "output_layer": output_layer, "crf": crf,
            "doc_context": doc_context, "context_rnn": context_rnn}
    refs = {name: layer for name, layer in refs.items() if layer is not None}
    return Model(
        "rnn_tagger",
        _forward,
        init=_init,
        layers=layers,
        dims={"nO": output_layer.maybe_get_dim("nO")},
        attrs={
            "sentence_level": sentence_level,
            "get_loss": tagger_loss,
            "decode": decode_tags,
            "tag_probabilities": tag_probabilities,
            "resize_output": resize_output,
        },
        refs=refs,
    )


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    tok2vec, rnn, output_layer = (model.get_ref(n) for n in ("tok2vec", "rnn", "output_layer"))
    tok2vec.initialize(X=X)
    if rnn.maybe_get_dim("nI") is None:
        width = tok2vec.maybe_get_dim("nO")
        if width is None:
            raise config_error(
                "spacy_rnn_ner.RNNTagger", "tok2vec",
                f"RNNTagger: the width of the tok2vec layer {tok2vec.name!r} is unknown; give "
                "its width in the config (e.g. the listener's 'width') or initialize it first."
            )
        set_rnn_input_width(rnn, width)
    rnn.initialize()
    if model.has_ref("context_rnn"):
        model.get_ref("context_rnn").initialize()
    output_layer.initialize()
    if model.has_ref("crf"):
        model.get_ref("crf").initialize()
    model.set_dim("nO", output_layer.get_dim("nO"), force=True)


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[TagScores, Callable]:
    tok2vec, rnn, output_layer = (model.get_ref(n) for n in ("tok2vec", "rnn", "output_layer"))
    ops = model.ops
    Xs, backprop_tok2vec = tok2vec(docs, is_train)
    doc_lengths = [len(X) for X in Xs]
    X = ops.flatten(Xs) if Xs else ops.alloc2f(0, rnn.get_dim("nI"))
    lengths = segment_lengths(docs, model.attrs["sentence_level"])
    H, backprop_rnn = run_rnn(rnn, X, lengths, is_train)
    backprops = [backprop_rnn]
    if not is_train and model.has_ref("doc_context") and model.has_ref("crf") \
            and not model.has_ref("context_rnn"):
        # prediction: the output layer (Linear) fused with the context, no wide copy
        W, b = output_layer.get_param("W"), output_layer.get_param("b")
        return TagScores(doc_context_scores(ops, H, docs, W, b), lengths), prediction_only
    if model.has_ref("doc_context"):
        H, backprop_context = model.get_ref("doc_context")((H, docs), is_train)
        backprops.append(backprop_context)
    if model.has_ref("context_rnn"):
        H, backprop_context_rnn = run_rnn(model.get_ref("context_rnn"), H, lengths, is_train)
        backprops.append(backprop_context_rnn)
    P, backprop_output = output_layer(H, is_train)
    backprops.append(backprop_output)

    def backprop(dP: Floats2d) -> List[Doc]:
        dX = dP
        for backprop_layer in reversed(backprops):
            dX = backprop_layer(dX)
        return backprop_tok2vec(ops.unflatten(dX, doc_lengths) if docs else [])

    return TagScores(P, lengths), backprop


# The model's interface to the component ----------------------------------------------


def tagger_loss(
    model: Model, scores: TagScores, gold: numpy.ndarray, token_weights: numpy.ndarray
) -> Tuple[float, Floats2d]:
    """Loss of the gold tag ids (``-1``: unknown, not trained on) and its gradient
    with respect to the scores, averaged over the tokens with known tags.

    softmax: cross-entropy, each token weighted by ``token_weights``. crf: negative
    log-likelihood per segment (unknown tokens latent), each segment weighted by the
    mean weight of its known tokens; an entity cut by a sentence start (``I-X`` there)
    starts anew. Adds the CRF params' gradients to the model.
    """
    ops = model.ops
    known = gold >= 0
    weights = numpy.where(known, token_weights, 0.0).astype("float32")
    n_known = max(int(known.sum()), 1)
    probs = scores.scores
    if model.has_ref("crf"):
        lengths = scores.lengths
        gold, _ = repair_bio(gold, lengths)
        starts = numpy.cumsum(lengths) - lengths
        known_per_segment = numpy.add.reduceat(known.astype("f"), starts) if len(starts) else starts
        weight_per_segment = numpy.add.reduceat(weights, starts) if len(starts) else starts
        segment_weights = numpy.where(
            known_per_segment > 0, weight_per_segment / numpy.maximum(known_per_segment, 1), 0.0
        ).astype("f")
        loss, d_scores = crf_loss(model.get_ref("crf"), probs, lengths, gold, segment_weights, scale=1.0 / n_known)
    else:
        truth = ops.asarray1i(numpy.where(known, gold, 0))
        w = ops.asarray1f(weights / n_known)
        rows = ops.xp.arange(len(gold))
        d_scores = probs.copy()
        d_scores[rows, truth] -= 1.0
        d_scores *= w[:, None]
        loss = float(-(w * ops.xp.log(probs[rows, truth] + LOG_EPSILON)).sum())
    if numpy.isnan(loss):
        raise ValueError("RNNTagger: the loss is NaN.")
    return loss, d_scores


def decode_tags(
    model: Model, scores: TagScores, outside_only: numpy.ndarray, confidences: bool = True
) -> Tuple[numpy.ndarray, Optional[numpy.ndarray]]:
    """Best valid BIO tag id per token (flat, host) and, with ``confidences``, the
    probability of each chosen tag (else None): constrained Viterbi per segment over the
    log-probabilities, or with a CRF over the emission scores with the learned
    transitions (the probabilities are then the CRF's marginals, from a forward-backward
    pass that only runs when asked for). ``outside_only``: tokens that must be ``O``
    (e.g. whitespace)."""
    crf = model.get_ref("crf") if model.has_ref("crf") else None
    return crf_decode(crf, scores.scores, scores.lengths, outside_only, confidences)


def tag_probabilities(model: Model, scores: TagScores) -> numpy.ndarray:
    """Probability of every tag at every token, ``(n_tokens, n_tags)`` on the host: the
    softmax output, or the CRF's marginals (its emission scores are not probabilities)."""
    crf = model.get_ref("crf") if model.has_ref("crf") else None
    return crf_marginals(crf, scores.scores, scores.lengths)


def resize_output(model: Model, n_tags: int) -> Model:
    """Give the model ``n_tags`` outputs (tags appended at the end). An initialized
    output layer (and CRF node) is replaced by a new one with the learned rows copied
    (new tags start at zero), so the optimizer's state for the old shapes is not
    reused; before initialization only the widths are set."""
    output_layer = model.get_ref("output_layer")
    crf = model.get_ref("crf") if model.has_ref("crf") else None
    W = output_layer.get_param("W") if output_layer.has_param("W") else None
    if W is None:
        for layer in (output_layer, crf, model):
            if layer is not None:
                layer.set_dim("nO", n_tags, force=True)
        return model
    if W.shape[0] == n_tags:
        return model
    if n_tags < W.shape[0]:
        raise ValueError(f"RNNTagger: cannot shrink the output from {W.shape[0]} to {n_tags} tags.")
    b = output_layer.get_param("b")
    new = make_output_layer("crf" if crf is not None else "softmax", n_tags, output_layer.get_dim("nI"))
    new.initialize()
    new_W, new_b = new.get_param("W"), new.get_param("b")
    new_W[: W.shape[0]] = W
    new_b[: b.shape[0]] = b
    new.set_param("W", new_W)
    new.set_param("b", new_b)
    model.replace_node(output_layer, new)
    if crf is not None:
        model.replace_node(crf, resized_crf_layer(crf, n_tags))
    model.set_dim("nO", n_tags, force=True)
    return model
