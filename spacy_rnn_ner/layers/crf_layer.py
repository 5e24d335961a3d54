"""A thinc layer that owns a linear-chain CRF's learned scores over BIO tags.

The layer is the identity on the emission scores (unnormalised, one ``(n_tokens, nO)``
array per document), placed last in the tagger so its parameters are saved, loaded and
optimised with the rest of the model. The loss is computed outside the forward pass (in
the component's ``get_loss``) by :func:`crf_layer_loss`, which pushes the parameters'
gradients with ``inc_grad``; ``finish_update`` applies them.
"""
from typing import Callable, List, Optional, Sequence, Tuple

from thinc.api import Model
from thinc.types import Floats2d

from ..crf import crf_decode, crf_marginals, crf_nll

PARAMS = ("transitions", "start", "end")


def crf_layer(nO: Optional[int] = None) -> Model[List[Floats2d], List[Floats2d]]:
    """CRF scores for ``nO = 1 + 2 * n_labels`` BIO tags: params ``transitions``
    ``(nO, nO)`` (prev -> next), ``start`` and ``end`` ``(nO,)``, initialised to zero.
    ``nO`` may be set later (``set_dim``) or is read from the input at ``initialize``."""
    return Model(
        "crf",
        _forward,
        init=_init,
        dims={"nO": nO},
        params={name: None for name in PARAMS},
    )


def _init(model: Model, X: Optional[List[Floats2d]] = None, Y=None) -> None:
    if not model.has_dim("nO"):
        sample = Y if Y is not None else X
        if not sample:
            raise ValueError("crf layer: nO (number of BIO tags) is unset and there is no sample to infer it from.")
        model.set_dim("nO", int(sample[0].shape[1]))
    n_tags = model.get_dim("nO")
    if n_tags < 1 or n_tags % 2 != 1:
        raise ValueError(f"crf layer: nO={n_tags} is not a BIO tag count (1 + 2 * n_labels).")
    model.set_param("transitions", model.ops.alloc2f(n_tags, n_tags))
    model.set_param("start", model.ops.alloc1f(n_tags))
    model.set_param("end", model.ops.alloc1f(n_tags))


def _forward(model: Model, X: List[Floats2d], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    return X, lambda dY: dY


def crf_layer_loss(
    model: Model,
    emissions: Floats2d,
    lengths: Sequence[int],
    gold,
    weights=None,
    scale: float = 1.0,
) -> Tuple[float, Floats2d]:
    """CRF negative log-likelihood of the gold tag ids (``-1``: unknown, latent) of
    sequences of flat ``emissions``, times ``scale``; adds the parameters' gradients to
    the layer (``inc_grad``) and returns ``(loss, d_emissions)``."""
    result = crf_nll(
        emissions, lengths, gold,
        model.get_param("transitions"), model.get_param("start"), model.get_param("end"),
        weights=weights,
    )
    model.inc_grad("transitions", result.d_transitions * scale)
    model.inc_grad("start", result.d_start * scale)
    model.inc_grad("end", result.d_end * scale)
    return result.loss * scale, result.d_emissions * scale


def crf_layer_decode(model: Model, emissions: Floats2d, lengths: Sequence[int]) -> List:
    """Best BIO path (numpy int array) per sequence of flat ``emissions``."""
    return crf_decode(emissions, lengths, *(model.get_param(name) for name in PARAMS))


def crf_layer_marginals(model: Model, emissions: Floats2d, lengths: Sequence[int]) -> Floats2d:
    """Posterior tag probabilities ``(n_tokens, nO)`` (e.g. for span confidence scores)."""
    return crf_marginals(emissions, lengths, *(model.get_param(name) for name in PARAMS))


def resized_crf_layer(old: Model, n_tags: int) -> Model:
    """A new crf layer for ``n_tags`` tags (labels appended at the end), keeping the
    learned scores of the old tags; new entries start at zero. A new layer, so the
    optimizer's state for the old shapes is not reused."""
    n_old = old.get_dim("nO")
    if n_tags < n_old:
        raise ValueError(f"crf layer: cannot shrink from {n_old} to {n_tags} tags.")
    new = crf_layer(n_tags)
    new.initialize()
    for name in PARAMS:
        value = new.get_param(name)
        block = (slice(0, n_old),) * value.ndim
        value[block] = old.get_param(name)
        new.set_param(name, value)
    return new
