"""Entity scorer: spaCy's NER scores plus the macro average over entity types."""
from typing import Any, Callable, Dict, Iterable, Optional

from spacy.scorer import get_ner_prf
from spacy.training import Example
from spacy.util import registry


def score_ents(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """``spacy.ner_scorer.v1`` scores (``ents_p/r/f``, ``ents_per_type``) plus
    ``ents_macro_p/r/f``: the unweighted mean over the entity types in
    ``ents_per_type``, so rare types count as much as frequent ones."""
    scores = get_ner_prf(examples, **kwargs)
    for key, value in macro_average(scores.get("ents_per_type") or {}).items():
        scores[f"ents_macro_{key}"] = value
    return scores


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
