"""Loss weights per entity label, against class imbalance."""
from typing import Dict, Mapping, Sequence

WEIGHTING_SCHEMES = {"none": 0.0, "sqrt_inverse_frequency": 0.5, "inverse_frequency": 1.0}


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
    if scheme not in WEIGHTING_SCHEMES:
        raise ValueError(
            f"unknown label weighting {scheme!r}; valid choices: "
            + ", ".join(repr(s) for s in WEIGHTING_SCHEMES)
        )
    for label, weight in explicit.items():
        if not weight >= 0:
            raise ValueError(f"label weight for {label!r} must be >= 0, got {weight!r}")
    power = WEIGHTING_SCHEMES[scheme]
    seen = [counts.get(label, 0) for label in labels if counts.get(label, 0) > 0]
    mean = sum(seen) / len(seen) if seen else 1.0
    rarest = min(seen) if seen else 1.0
    weights = {}
    for label in labels:
        count = counts.get(label, 0) or rarest
        weights[label] = (mean / count) ** power * float(explicit.get(label, 1.0))
    return weights
