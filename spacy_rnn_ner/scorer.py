"""Entity scorer: spaCy's NER scores plus the macro average over entity types.

The macro average is taken over the types the model can predict (its labels, which spaCy
passes to a component's scorer): a gold type the model was never trained on (a 13-type
TEST set scored with a 4-type model) would only pull the average down by a constant, so
it is left out, with a warning naming it, and ``ents_macro_all_p/r/f`` keep the average
over every type of ``ents_per_type`` for those who want it.
"""
import warnings
from typing import Any, Callable, Dict, FrozenSet, Iterable, Optional, Set

from spacy.scorer import get_ner_prf
from spacy.training import Example
from spacy.util import registry

#: label sets already warned about (once per process and set)
_WARNED: Set[FrozenSet[str]] = set()


def score_ents(examples: Iterable[Example], labels: Optional[Iterable[str]] = None,
               **kwargs: Any) -> Dict[str, Any]:
    """``spacy.ner_scorer.v1`` scores (``ents_p/r/f``, ``ents_per_type``) plus
    ``ents_macro_p/r/f``, the unweighted mean over the entity types of ``ents_per_type``
    that the model can predict (``labels``, the component's; all types without them), so
    rare types count as much as frequent ones, and ``ents_macro_all_p/r/f``, the mean over
    every type. Gold entity labels outside ``labels`` are warned about once."""
    examples = list(examples)
    scores = get_ner_prf(examples, **kwargs)
    gold_labels = {ent.label_ for eg in examples for ent in eg.reference.ents}
    scores.update(macro_scores(scores.get("ents_per_type") or {}, gold_labels, labels))
    return scores


def macro_scores(per_type: Dict[str, Dict[str, float]], gold_labels: Iterable[str],
                 labels: Optional[Iterable[str]] = None) -> Dict[str, Optional[float]]:
    """``ents_macro_p/r/f`` over the types of ``per_type`` among the model's ``labels``
    (all types without them) and ``ents_macro_all_p/r/f`` over every type; warns once
    about ``gold_labels`` outside ``labels``."""
    predictable = per_type
    if labels is not None:
        model_labels = set(labels)
        warn_unpredictable(set(gold_labels) - model_labels, model_labels)
        predictable = {label: value for label, value in per_type.items() if label in model_labels}
    out = {f"ents_macro_{key}": value for key, value in macro_average(predictable).items()}
    out.update({f"ents_macro_all_{key}": value for key, value in macro_average(per_type).items()})
    return out


def warn_unpredictable(missing: Set[str], model_labels: Set[str]) -> None:
    """Warn (once per set of labels) that gold has entity labels the model lacks."""
    if not missing or frozenset(missing) in _WARNED:
        return
    _WARNED.add(frozenset(missing))
    warnings.warn(f"the gold entities have labels the model cannot predict: "
                  f"{', '.join(sorted(missing))} (model labels: {', '.join(sorted(model_labels))}); "
                  f"ents_macro_p/r/f average over the model's labels only, ents_macro_all_p/r/f "
                  f"over every type (these count 0)", UserWarning, stacklevel=2)


def macro_average(per_type: Dict[str, Dict[str, float]]) -> Dict[str, Optional[float]]:
    """Unweighted mean of ``p``, ``r`` and ``f`` over the types of a spaCy ``*_per_type``
    dict (``None`` without types): the one macro average of the package."""
    keys = ("p", "r", "f")
    if not per_type:
        return {key: None for key in keys}
    return {key: sum(float(scores.get(key) or 0.0) for scores in per_type.values()) / len(per_type)
            for key in keys}


@registry.scorers("spacy_rnn_ner.ner_scorer.v1")
def make_ner_scorer() -> Callable[..., Dict[str, Any]]:
    return score_ents
