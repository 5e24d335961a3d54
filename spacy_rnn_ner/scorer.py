"""Entity scorer: spaCy's NER scores plus the macro average over entity types."""
from typing import Any, Callable, Dict, Iterable

from spacy.scorer import get_ner_prf
from spacy.training import Example
from spacy.util import registry


def score_ents(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """``spacy.ner_scorer.v1`` scores (``ents_p/r/f``, ``ents_per_type``) plus
    ``ents_macro_p/r/f``: the unweighted mean over the entity types in
    ``ents_per_type``, so rare types count as much as frequent ones."""
    scores = get_ner_prf(examples, **kwargs)
    per_type = scores.get("ents_per_type") or {}
    for key in ("p", "r", "f"):
        values = [type_scores[key] for type_scores in per_type.values()]
        scores[f"ents_macro_{key}"] = sum(values) / len(values) if values else None
    return scores


@registry.scorers("spacy_rnn_ner.ner_scorer.v1")
def make_ner_scorer() -> Callable[..., Dict[str, Any]]:
    return score_ents
