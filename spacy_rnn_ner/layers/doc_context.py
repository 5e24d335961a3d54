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
The mean is computed with ``ops.scatter_add`` on the model's device, for the tokens that
have other mentions only; the group ids (from the docs' words) are made on the host.
"""
from functools import lru_cache
from typing import Callable, Dict, List, NamedTuple, Sequence, Tuple

import numpy
from spacy.attrs import ORTH
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

PREFIX_CHARS = 5
MIN_KEY_CHARS = 3


@lru_cache(maxsize=1 << 16)
def word_key(text: str) -> str:
    """The inflection-blind key of a capitalised word ('' for any other token)."""
    if not text[:1].isupper() or not text.isalpha():
        return ""
    lower = text.lower()
    if len(lower) > PREFIX_CHARS + 1:
        return lower[:PREFIX_CHARS]
    return lower[: max(MIN_KEY_CHARS, len(lower) - 1)]


class Mentions(NamedTuple):
    """The tokens of a batch (flat, doc order) that share their word key with another
    token of their document: their positions, a group id per such token (one id per key
    and document, numbered in order of first mention) and, for every token, how many
    other mentions it has."""

    positions: numpy.ndarray
    groups: numpy.ndarray
    n_groups: int
    others: numpy.ndarray


def shared_mentions(docs: Sequence[Doc]) -> Mentions:
    """The :class:`Mentions` of a batch. Keys are computed once per distinct word of the
    batch, from its vocabulary entry; the grouping by document and key is vectorized."""
    if not docs:
        empty = numpy.zeros((0,), "int64")
        return Mentions(empty, empty, 0, empty)
    orths = numpy.concatenate([doc.to_array(ORTH) for doc in docs])
    doc_of_token = numpy.repeat(numpy.arange(len(docs)), [len(doc) for doc in docs])
    words, word_of_token = numpy.unique(orths, return_inverse=True)
    strings = docs[0].vocab.strings
    keys = [word_key(strings[orth]) for orth in words.tolist()]
    key_ids: Dict[str, int] = {}
    key_of_word = numpy.asarray([key_ids.setdefault(k, len(key_ids)) if k else -1 for k in keys],
                                dtype="int64")
    key_of_token = key_of_word[word_of_token.reshape(-1)] if len(orths) else numpy.zeros((0,), "int64")
    keyed = numpy.flatnonzero(key_of_token >= 0)
    # one id per (document, key); mentions per token = size of its id's group
    pair = doc_of_token[keyed] * max(len(key_ids), 1) + key_of_token[keyed]
    _, first, pair_id, counts = numpy.unique(pair, return_index=True, return_inverse=True,
                                             return_counts=True)
    others = numpy.zeros(len(orths), "int64")
    others[keyed] = counts[pair_id.reshape(-1)] - 1
    in_group = others[keyed] > 0
    positions = keyed[in_group]
    shared_pairs, compact = numpy.unique(pair_id.reshape(-1)[in_group], return_inverse=True)
    # groups numbered in order of their first mention
    rank = numpy.empty(len(shared_pairs), "int64")
    rank[numpy.argsort(first[shared_pairs], kind="stable")] = numpy.arange(len(shared_pairs))
    return Mentions(positions, rank[compact.reshape(-1)], len(shared_pairs), others)


def doc_context_layer(nI: int) -> Model[Tuple[Floats2d, List[Doc]], Floats2d]:
    """``(H, docs) -> [H, mean of H over the token's other mentions, log(mentions)]``:
    output width ``2 * nI + 1``. No parameters."""
    return Model("doc_context", _forward, dims={"nI": nI, "nO": 2 * nI + 1})


class _Groups:
    """The shared mentions of a batch on the model's device."""

    def __init__(self, ops, docs: Sequence[Doc], n_states: int) -> None:
        mentions = shared_mentions(docs)
        if len(mentions.others) != n_states:
            raise ValueError(f"doc_context: {n_states} states for {len(mentions.others)} tokens.")
        self.ops = ops
        self.n_groups = mentions.n_groups
        self.any = len(mentions.positions) > 0
        self.positions = ops.asarray1i(mentions.positions)
        self.groups = ops.asarray1i(mentions.groups)
        shared_others = mentions.others[mentions.positions]
        self.scale = ops.asarray1f(1.0 / numpy.maximum(shared_others, 1))[:, None]
        self.log_mentions = ops.asarray1f(numpy.log1p(mentions.others).astype("float32"))

    def sum_of_others(self, values: Floats2d) -> Floats2d:
        """Per row of ``values`` (one per shared position), the sum of the other rows
        of its group."""
        totals = self.ops.alloc2f(self.n_groups, values.shape[1])
        self.ops.scatter_add(totals, self.groups, self.ops.as_contig(values))
        return totals[self.groups] - values


def _forward(
    model: Model, inputs: Tuple[Floats2d, List[Doc]], is_train: bool
) -> Tuple[Floats2d, Callable]:
    H, docs = inputs
    ops = model.ops
    n, width = H.shape
    mentions = _Groups(ops, docs, n)
    positions = mentions.positions
    # only the tokens with other mentions get a mean; the others keep zeros
    Y = ops.alloc2f(n, 2 * width + 1)
    Y[:, :width] = H
    Y[:, 2 * width] = mentions.log_mentions
    if mentions.any:
        Y[positions, width: 2 * width] = mentions.sum_of_others(H[positions]) * mentions.scale

    def backprop(dY: Floats2d) -> Floats2d:
        dH = ops.as_contig(dY[:, :width])
        if mentions.any:
            # d mean_i / d H_j = scale_i for j != i in i's group: the same map, transposed
            dH[positions] += mentions.sum_of_others(dY[positions, width: 2 * width] * mentions.scale)
        return dH

    return Y, backprop


def doc_context_scores(ops, H: Floats2d, docs: List[Doc], W: Floats2d, b: Floats2d) -> Floats2d:
    """``Y @ W.T + b`` for this layer's output ``Y`` at prediction time, without making
    ``Y`` (``2 * width + 1`` wide): the mean over the other mentions is linear, so it is
    taken of the mentions' scores (as wide as ``W`` has rows) instead of their states.
    The same scores up to float rounding."""
    n, width = H.shape
    mentions = _Groups(ops, docs, n)
    scores = ops.gemm(H, ops.as_contig(W[:, :width]), trans2=True)
    scores += b
    scores += mentions.log_mentions[:, None] * W[:, 2 * width]
    if mentions.any:
        H_shared = H[mentions.positions]
        others = ops.gemm(H_shared, ops.as_contig(W[:, width: 2 * width]), trans2=True)
        scores[mentions.positions] += mentions.sum_of_others(others) * mentions.scale
    return scores
