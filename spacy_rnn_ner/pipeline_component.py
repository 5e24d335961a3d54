"""The ``rnn_ner`` pipeline component: a trainable BIO entity tagger.

Modelled on spaCy's ``Tagger``: labels in ``cfg``, ``label_data`` for ``spacy init
labels``, ``initialize(get_examples, *, nlp, labels)``, NaN checks and empty-doc guards.
It writes ``doc.ents`` and a span group with a confidence score per predicted entity.
"""
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

import numpy
from spacy.attrs import IS_SPACE
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate
from thinc.types import Floats2d

from .layers.rnn_tagger import TagScores, config_attrs_kept

from .bio import biluo_to_bio, make_tag_names, tag_ids_to_spans
from .label_weights import check_weighting, label_weights
from .errors import config_error
from .scorer import score_ents

# Names the architectures only: every setting's default lives in the architecture's
# signature (spaCy fills them in), so there is one source for each default.
DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_rnn_ner.RNNTagger.v2"

[model.tok2vec]
@architectures = "spacy_rnn_ner.TokenFeatures.v1"

[model.tok2vec.char_encoder]
@architectures = "spacy_rnn_ner.CharCNN.v1"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


class DocPrediction(NamedTuple):
    """Decoded BIO tag ids of one document and the probability of each chosen tag
    (None when the component has no ``spans_key``: confidences are not computed)."""

    tag_ids: numpy.ndarray
    tag_probs: Optional[numpy.ndarray]


@Language.factory(
    "rnn_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "model": DEFAULT_MODEL,
        "overwrite_ents": False,
        "spans_key": "rnn_ner",
        "label_weighting": "none",
        "label_weights": {},
        "scorer": {"@scorers": "spacy_rnn_ner.ner_scorer.v1"},
    },
    default_score_weights={
        "ents_f": 1.0,
        "ents_p": 0.0,
        "ents_r": 0.0,
        "ents_macro_f": 0.0,
        "ents_per_type": None,
    },
)
def make_rnn_ner(
    nlp: Language,
    name: str,
    model: Model[List[Doc], TagScores],
    overwrite_ents: bool,
    spans_key: Optional[str],
    label_weighting: str,
    label_weights: Dict[str, float],
    scorer: Optional[Callable],
) -> "RNNEntityRecognizer":
    """Create an ``rnn_ner`` component.

    model: BIO tag scores of the tokens, e.g. ``spacy_rnn_ner.RNNTagger.v2``; the
        component uses it through its ``attrs`` ``get_loss``, ``decode`` and
        ``resize_output`` (see ``layers/rnn_tagger.py``).
    overwrite_ents: whether predicted entities replace overlapping entities that an
        earlier component (e.g. ``entity_ruler``) already set; with ``false`` the
        earlier ones are kept and overlapping predictions are left out of ``doc.ents``.
    spans_key: ``doc.spans`` key of a span group holding every predicted entity with
        its confidence in ``attrs["scores"]``; ``null`` to skip it.
    label_weighting: loss weight per entity label: ``"none"``,
        ``"inverse_frequency"`` or ``"sqrt_inverse_frequency"`` of the label's entity
        count in the training data (``O`` keeps weight 1).
    label_weights: explicit weights per label, multiplied onto the scheme's.
    """
    return RNNEntityRecognizer(
        nlp.vocab,
        model,
        name,
        overwrite_ents=overwrite_ents,
        spans_key=spans_key,
        label_weighting=label_weighting,
        label_weights=label_weights,
        scorer=scorer,
    )


class RNNEntityRecognizer(TrainablePipe):
    """Named-entity recognizer: a recurrent tagger over BIO tags with constrained
    Viterbi decoding, so predicted tag sequences are always valid BIO."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], TagScores],
        name: str = "rnn_ner",
        *,
        overwrite_ents: bool = False,
        spans_key: Optional[str] = "rnn_ner",
        label_weighting: str = "none",
        label_weights: Optional[Dict[str, float]] = None,
        scorer: Optional[Callable] = score_ents,
    ) -> None:
        check_weighting(label_weighting, label_weights or {}, name)
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.overwrite_ents = overwrite_ents
        self.spans_key = spans_key
        self.label_weighting = label_weighting
        self.label_weights = dict(label_weights or {})
        # what training learned (saved with the model); the settings above come from
        # the config, so overrides at spacy.load() apply
        self.cfg: Dict[str, Any] = {"labels": [], "label_counts": {}}
        # a width given in the config, checked against the labels at initialize
        self._configured_n_out = model.maybe_get_dim("nO")

    # Labels -------------------------------------------------------------------

    @property
    def labels(self) -> Tuple[str, ...]:
        """The entity labels (without BIO prefixes)."""
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> Tuple[str, ...]:
        """Data about the labels, for ``spacy init labels``."""
        return self.labels

    @property
    def tag_names(self) -> List[str]:
        """The BIO tags the model scores: ``O``, ``B-X``, ``I-X`` per label."""
        return make_tag_names(self.labels)

    def add_label(self, label: str) -> int:
        """Add an entity label. Returns 0 if it was already present, else 1.

        On an initialized model (e.g. a trained component sourced into a new
        pipeline) the model's output grows by the label's two tags (its
        ``resize_output``); what the model learned for the other labels is kept.
        """
        if not isinstance(label, str) or not label:
            raise ValueError(f"[{self.name}] entity labels must be non-empty strings, got {label!r}.")
        if label in self.labels:
            return 0
        self.cfg["labels"].append(label)
        self.cfg["label_counts"].setdefault(label, 0)
        self.vocab.strings.add(label)
        self.model.attrs["resize_output"](self.model, len(self.tag_names))
        return 1

    def _tag_weights(self) -> numpy.ndarray:
        """Loss weight per BIO tag (``O`` = 1; ``B-X`` and ``I-X`` share X's weight)."""
        per_label = label_weights(
            self.labels,
            self.cfg["label_counts"],
            self.label_weighting,
            self.label_weights,
        )
        return numpy.asarray([1.0] + [per_label[lab] for lab in self.labels for _ in (0, 1)], dtype="f")

    # Prediction ---------------------------------------------------------------

    def predict(self, docs: Iterable[Doc]) -> List[DocPrediction]:
        """Decode the best valid BIO tag sequence of each document (the model's
        ``decode``: constrained Viterbi per sentence segment, with the CRF's learned
        transitions when the model has one, so no entity crosses a sentence start).
        Whitespace tokens are always ``O`` (as in spaCy's ``ner``). The confidence of
        each tag is computed only for the span group of ``spans_key``."""
        docs = list(docs)
        confidences = bool(self.spans_key)
        if not any(len(doc) for doc in docs):
            no_probs = numpy.zeros((0,), "f") if confidences else None
            return [DocPrediction(numpy.zeros((0,), "int64"), no_probs) for _ in docs]
        return self._decode(docs, self.model.predict(docs), confidences)

    def _decode(self, docs: List[Doc], scores: TagScores, confidences: bool = True) -> List[DocPrediction]:
        outside_only = numpy.concatenate([doc.to_array(IS_SPACE) for doc in docs]).astype(bool)
        tag_ids, tag_probs = self.model.attrs["decode"](self.model, scores, outside_only, confidences)
        splits = numpy.cumsum([len(doc) for doc in docs])[:-1]
        probs = numpy.split(tag_probs, splits) if tag_probs is not None else [None] * len(docs)
        return [DocPrediction(ids, ps) for ids, ps in zip(numpy.split(tag_ids, splits), probs)]

    def set_annotations(self, docs: Iterable[Doc], predictions: List[DocPrediction]) -> None:
        """Write ``doc.ents`` (respecting ``overwrite_ents``) and the scored span group."""
        if isinstance(docs, Doc):
            docs = [docs]
        spans_key = self.spans_key
        for doc, prediction in zip(docs, predictions):
            found = tag_ids_to_spans(prediction.tag_ids, self.labels)
            spans = [Span(doc, start, end, label=label) for start, end, label in found]
            doc.ents = self._merge_with_existing(doc, spans)
            if spans_key:
                if prediction.tag_probs is None:
                    raise ValueError(f"[{self.name}] spans_key is set but the predictions have no "
                                     "confidences: predict() with the same spans_key.")
                # the mean probability of each entity's tags
                sums = numpy.concatenate([[0.0], numpy.cumsum(prediction.tag_probs, dtype="float64")])
                bounds = numpy.asarray([(start, end) for start, end, _ in found], dtype="int64").reshape(-1, 2)
                scores = (sums[bounds[:, 1]] - sums[bounds[:, 0]]) / (bounds[:, 1] - bounds[:, 0])
                group = SpanGroup(doc, name=spans_key, spans=spans)
                group.attrs["scores"] = scores.astype("f")
                doc.spans[spans_key] = group

    def _merge_with_existing(self, doc: Doc, predicted: List[Span]) -> List[Span]:
        """Predicted entities plus the earlier ones; on overlap ``overwrite_ents``
        decides which side stays."""
        existing = list(doc.ents)
        if not existing:
            return predicted
        first, second = (predicted, existing) if self.overwrite_ents else (existing, predicted)
        taken = numpy.zeros((len(doc),), dtype=bool)
        for span in first:
            taken[span.start : span.end] = True
        kept = [span for span in second if not taken[span.start : span.end].any()]
        return sorted(first + kept, key=lambda span: span.start)

    # Serialization ----------------------------------------------------------------

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "RNNEntityRecognizer":
        """Load the learned state; settings that come from the config (``sentence_level``)
        keep the values this component was built with, so overrides at ``spacy.load``
        apply."""
        with config_attrs_kept(self.model):
            return super().from_bytes(bytes_data, exclude=exclude)

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "RNNEntityRecognizer":
        """As :meth:`from_bytes`, from a folder; a folder without its ``cfg`` (the labels),
        or labels that do not fit the model's output, is a ``ValueError`` naming it."""
        with config_attrs_kept(self.model):
            super().from_disk(path, exclude=exclude)
        if "cfg" not in exclude:
            self._check_loaded_labels(Path(path))
        return self

    def _check_loaded_labels(self, path: Path) -> None:
        """spaCy reads a missing ``cfg`` as empty: the model would then decode its tags
        against no labels (an ``IndexError`` at the first entity)."""
        if not (path / "cfg").is_file():
            raise ValueError(f"[{self.name}] {path / 'cfg'} is missing: it holds the component's "
                             "labels. The pipeline folder is incomplete: save or copy it again.")
        labels = self.cfg.get("labels")
        if not isinstance(labels, list) or not all(isinstance(label, str) and label for label in labels):
            raise ValueError(f"[{self.name}] {path / 'cfg'}: 'labels' must be a list of label names, "
                             f"got {labels!r}. Save or copy the pipeline again.")
        output = self.model.get_ref("output_layer") if self.model.has_ref("output_layer") else None
        n_out = output.get_param("W").shape[0] if output is not None and output.has_param("W") else None
        if n_out is not None and n_out != len(self.tag_names):
            raise ValueError(f"[{self.name}] {path / 'cfg'}: the labels {list(self.labels)} need "
                             f"{len(self.tag_names)} tags but the model has {n_out} outputs: the cfg "
                             "file does not belong to these weights. Save or copy the pipeline again.")

    # Training -----------------------------------------------------------------

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples; returns the updated losses."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "RNNEntityRecognizer.update")
        if not any(len(eg.predicted) if eg.predicted else 0 for eg in examples):
            return losses
        self._add_new_labels(examples)
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        if self.model.ops.xp.isnan(scores.scores.sum()):
            raise ValueError(f"[{self.name}] the model produced NaN scores during update.")
        loss, d_scores = self.get_loss(examples, scores)
        backprop(d_scores)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def _add_new_labels(self, examples: List[Example]) -> None:
        """Labels in the training data that the component lacks (e.g. when a trained
        component is fine-tuned on data with a new label) are added, as spaCy's
        ``ner`` does; their counts come from this batch."""
        counts = Counter(
            ent.label_ for eg in examples for ent in eg.reference.ents if ent.label_ not in self.labels
        )
        for label in sorted(counts):
            self.add_label(label)
            self.cfg["label_counts"][label] = counts[label]

    def get_loss(self, examples: Iterable[Example], scores: TagScores) -> Tuple[float, Floats2d]:
        """The model's loss (its ``get_loss``: weighted cross-entropy, or the CRF's
        negative log-likelihood) of the gold BIO tags, averaged over the tokens with known
        annotation (misaligned or missing tokens are not trained on)."""
        examples = list(examples)
        validate_examples(examples, "RNNEntityRecognizer.get_loss")
        tag_index = {tag: i for i, tag in enumerate(self.tag_names)}
        truths = numpy.concatenate(
            [self._gold_tag_ids(i, eg, tag_index) for i, eg in enumerate(examples)]
        )
        token_weights = self._tag_weights()[numpy.where(truths >= 0, truths, 0)]
        loss, d_scores = self.model.attrs["get_loss"](self.model, scores, truths, token_weights)
        if numpy.isnan(loss):
            raise ValueError(f"[{self.name}] the loss is NaN.")
        return loss, d_scores

    def _gold_tag_ids(self, index: int, example: Example, tag_index: Dict[str, int]) -> numpy.ndarray:
        """Gold BIO tag id per predicted token; -1 where the annotation is unknown."""
        ids = numpy.full((len(example.predicted),), -1, dtype="int64")
        for i, biluo in enumerate(example.get_aligned_ner()):
            tag = biluo_to_bio(biluo)
            if tag is None:
                continue
            if tag not in tag_index:
                raise ValueError(
                    f"[{self.name}] example {index} (\"{example.reference.text[:60]}\"...) has "
                    f"entity label {tag[2:]!r}, which is not among the component's labels "
                    f"{list(self.labels)}. Add it before initializing (labels are collected "
                    "from the training data unless given in [initialize.components])."
                )
            ids[i] = tag_index[tag]
        return ids

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Iterable[str]] = None,
    ) -> None:
        """Collect labels and their entity counts from the training data (or take
        ``labels``) and initialize the model."""
        validate_get_examples(get_examples, "RNNEntityRecognizer.initialize")
        counts: Counter = Counter()
        n_examples = 0
        for example in get_examples():
            n_examples += 1
            counts.update(ent.label_ for ent in example.reference.ents)
        if n_examples == 0:
            raise config_error("corpora.train", "path", f"[{self.name}] initialize() got no training examples.")
        if labels is not None:
            labels = list(labels)
            if not labels or not all(isinstance(label, str) and label for label in labels):
                raise config_error(
                    f"initialize.components.{self.name}", "labels",
                    f"[{self.name}] the labels given to initialize are empty or hold an empty "
                    "label (from "
                    f"[initialize.components.{self.name}.labels], e.g. a labels file written by "
                    "`spacy init labels` from data without entities). Remove the setting to "
                    "collect the labels from the training data, or give at least one label."
                )
        for label in sorted(counts) if labels is None else labels:
            self.add_label(label)
        if not self.labels:  # a config error: spaCy prints it without a traceback
            raise config_error(
                f"initialize.components.{self.name}", "labels",
                f"[{self.name}] no entity labels: the {n_examples} training examples contain no "
                "entities and no labels were given. Annotate entities or pass labels "
                "(e.g. from `spacy init labels`)."
            )
        self.cfg["label_counts"] = {label: counts.get(label, 0) for label in self.labels}
        unknown = sorted(set(self.label_weights) - set(self.labels))
        if unknown:
            raise config_error(
                f"components.{self.name}", "label_weights",
                f"[{self.name}] label_weights names labels {unknown} that are not among "
                f"the component's labels {list(self.labels)}."
            )
        self._tag_weights()  # validate the weighting now rather than at the first update
        self._set_output_width()
        self._set_listener_width(nlp)
        doc_sample = [eg.predicted for eg in islice(get_examples(), 10)]
        self.model.initialize(X=doc_sample)

    def _set_output_width(self) -> None:
        n_tags = len(self.tag_names)
        n_out = self._configured_n_out
        if n_out is not None and n_out != n_tags:
            raise config_error(
                f"components.{self.name}.model", "nO",
                f"[{self.name}] the model's nO is {n_out} but the labels {list(self.labels)} need "
                f"{n_tags} tags (O, then B- and I- per label). Leave nO = null in "
                f"[components.{self.name}.model]: it is set from the labels."
            )
        self.model.attrs["resize_output"](self.model, n_tags)

    def _set_listener_width(self, nlp: Optional[Language]) -> None:
        """A listener without a width takes the width of the component it listens to."""
        if not self.model.has_ref("tok2vec"):
            return
        tok2vec = self.model.get_ref("tok2vec")
        if tok2vec.maybe_get_dim("nO") is not None or nlp is None:
            return
        for name, proc in nlp.pipeline:
            listeners = [lis for group in getattr(proc, "listener_map", {}).values() for lis in group]
            if any(lis is tok2vec for lis in listeners):
                width = proc.model.maybe_get_dim("nO")
                if width is None:
                    raise config_error(
                        f"components.{name}.model", "width",
                        f"[{self.name}] the width of '{name}', which this component listens to, "
                        "is unknown; set the listener's width in the config."
                    )
                tok2vec.set_dim("nO", width)
                return
