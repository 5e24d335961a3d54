"""Loss weights per entity label, against class imbalance."""
import math
from typing import Any, Dict, Mapping, Sequence

from .errors import config_error

WEIGHTING_SCHEMES = {"none": 0.0, "sqrt_inverse_frequency": 0.5, "inverse_frequency": 1.0}


def check_weighting(scheme: str, explicit: Mapping[str, Any], block: str = "rnn_ner") -> None:
    """A config error (``spacy train`` prints it without a traceback) for a ``scheme``
    that is not one of :data:`WEIGHTING_SCHEMES` or an ``explicit`` weight that is not a
    finite number of 0 or more. ``block``: the component's config block, for the message."""
    if scheme not in WEIGHTING_SCHEMES:
        raise config_error(f"components.{block}", "label_weighting",
                           f"[{block}] unknown label_weighting {scheme!r}; valid choices: "
                           + ", ".join(repr(s) for s in WEIGHTING_SCHEMES))
    for label, weight in explicit.items():
        if (isinstance(weight, bool) or not isinstance(weight, (int, float))
                or not math.isfinite(weight) or weight < 0):
            raise config_error(f"components.{block}", "label_weights",
                               f"[{block}] label weight for {label!r} must be a finite number "
                               f">= 0, got {weight!r}")


def label_weights(
    labels: Sequence[str],
    counts: Mapping[str, int],
    scheme: str = "none",
    explicit: Mapping[str, float] = {},
) -> Dict[str, float]:
    """Weight per label: ``(mean count / count) ** power`` for the scheme's power
    (0 for ``"none"``, 0.5 for ``"sqrt_inverse_frequency"``, 1 for
    ``"inverse_frequency"``), times the ``explicit`` weight of the label (default 1).

    A label with no training entities gets the weight of the rarest counted label.
    """
    check_weighting(scheme, explicit)
    power = WEIGHTING_SCHEMES[scheme]
    seen = [counts.get(label, 0) for label in labels if counts.get(label, 0) > 0]
    mean = sum(seen) / len(seen) if seen else 1.0
    rarest = min(seen) if seen else 1.0
    weights = {}
    for label in labels:
        count = counts.get(label, 0) or rarest
        weights[label] = (mean / count) ** power * float(explicit.get(label, 1.0))
    return weights
