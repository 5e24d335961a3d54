"""Document context: what the RNN said about the same name elsewhere in the document.

A name mostly keeps its type within a document, but one mention is often ambiguous
alone ('Шевченка' in a list) where another is not ('поет Тарас Шевченко'). This layer
appends to each token's RNN state the mean of the RNN states of the *other* tokens of
its document that share its word key, and the log of how many there are. The key sees
through Ukrainian inflection: the first five letters of a capitalised word of seven or
more, shorter words without their last letter (three kept, at least), all lowercased:
'Шевченко', 'Шевченка' and 'Шевченком' share 'шевче'. Lowercase words, numbers and
punctuation have no key and get zeros. (On ner-uk 1.0's training documents, 65 % of
the entity tokens share a key with another capitalised token of their document, and
92 % of those tokens have the same type.)

Groups never cross documents, so the result does not depend on how ``nlp.pipe``
batches documents; memory is linear in the batch's tokens whatever a document's length.
The mean is computed with ``ops.scatter_add`` on the model's device; only the group ids
(from the docs' texts) are made on the host.
"""
from typing import Callable, List, Sequence, Tuple

import numpy
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

PREFIX_CHARS = 5
MIN_KEY_CHARS = 3


def word_key(text: str) -> str:
    """The inflection-blind key of a capitalised word ('' for any other token)."""
    if not text[:1].isupper() or not text.isalpha():
        return ""
    lower = text.lower()
    if len(lower) > PREFIX_CHARS + 1:
        return lower[:PREFIX_CHARS]
    return lower[: max(MIN_KEY_CHARS, len(lower) - 1)]


def document_groups(docs: Sequence[Doc]) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """A group id per token of the batch (flat, doc order): tokens of one document with
    the same non-empty :func:`word_key` share an id, every other token has its own; and
    the size of each token's group."""
    ids: List[int] = []
    next_id = 0
    for doc in docs:
        seen = {}
        for token in doc:
            key = word_key(token.text)
            if not key:
                ids.append(next_id)
                next_id += 1
            elif key in seen:
                ids.append(seen[key])
            else:
                seen[key] = next_id
                ids.append(next_id)
                next_id += 1
    group = numpy.asarray(ids, dtype="int32")
    sizes = numpy.bincount(group, minlength=next_id)[group] if len(group) else numpy.zeros((0,), "int64")
    return group, sizes


def doc_context_layer(nI: int) -> Model[Tuple[Floats2d, List[Doc]], Floats2d]:
    """``(H, docs) -> [H, mean of H over the token's other mentions, log(mentions)]``:
    output width ``2 * nI + 1``. No parameters."""
    return Model("doc_context", _forward, dims={"nI": nI, "nO": 2 * nI + 1})


def _forward(
    model: Model, inputs: Tuple[Floats2d, List[Doc]], is_train: bool
) -> Tuple[Floats2d, Callable]:
    H, docs = inputs
    ops = model.ops
    group_host, sizes_host = document_groups(docs)
    if len(group_host) != H.shape[0]:
        raise ValueError(f"doc_context: {H.shape[0]} states for {len(group_host)} tokens.")
    n_groups = int(group_host.max()) + 1 if len(group_host) else 0
    others = numpy.maximum(sizes_host - 1, 0)
    group = ops.asarray1i(group_host)
    scale = ops.asarray1f(numpy.where(others > 0, 1.0 / numpy.maximum(others, 1), 0.0))[:, None]
    log_mentions = ops.asarray2f(numpy.log1p(others).astype("float32")[:, None])

    def mean_of_others(values: Floats2d) -> Floats2d:
        totals = ops.alloc2f(n_groups, values.shape[1])
        ops.scatter_add(totals, group, ops.as_contig(values))
        return (totals[group] - values) * scale

    Y = ops.xp.hstack([H, mean_of_others(H), log_mentions])

    def backprop(dY: Floats2d) -> Floats2d:
        width = H.shape[1]
        # d mean_i / d H_j = scale_i for j != i in i's group: the same map, transposed
        d_others = dY[:, width: 2 * width] * scale
        totals = ops.alloc2f(n_groups, width)
        ops.scatter_add(totals, group, ops.as_contig(d_others))
        return dY[:, :width] + totals[group] - d_others

    return Y, backprop
