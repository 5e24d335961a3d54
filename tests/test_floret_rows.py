"""The vectorized floret lookup gives spaCy's vectors bit for bit."""
import numpy
import pytest
import spacy
from spacy.vectors import Vectors
from thinc.api import NumpyOps

from spacy_rnn_ner.layers.floret_rows import floret_vectors

WORDS = [
    "", "a", "ab", "Київ", "м.", "Івано-Франківськ", "😀", "😀x🙂", "ї" * 8, "x" * 15, "x" * 16, "y" * 17,
    "щ" * 31, "Z" * 100, "e\u0301", "𝔘𝔨𝔯", "a\x00b", "«Укренерго»", "2026-12-07", " ",
]


@pytest.mark.parametrize("minn,maxn,hash_count", [(3, 5, 2), (2, 4, 1), (1, 6, 4), (4, 4, 3), (5, 6, 4)])
def test_floret_vectors_are_spacys_bit_for_bit(minn, maxn, hash_count):
    nlp = spacy.blank("uk")
    data = numpy.random.default_rng(minn).normal(size=(97, 5)).astype("f")
    vectors = Vectors(strings=nlp.vocab.strings, data=data, mode="floret", minn=minn, maxn=maxn,
                      hash_count=hash_count, hash_seed=2166136261)
    keys = numpy.asarray([nlp.vocab.strings.add(word) for word in WORDS], dtype="uint64")
    got = floret_vectors(vectors, keys, NumpyOps())
    numpy.testing.assert_array_equal(got, vectors.get_batch(keys))
    assert not got[0].any()  # the empty word: zeros, as spaCy's


def test_floret_vectors_of_no_word_or_only_empty_ones():
    nlp = spacy.blank("uk")
    vectors = Vectors(strings=nlp.vocab.strings, data=numpy.ones((10, 3), "f"), mode="floret", minn=2, maxn=3)
    assert floret_vectors(vectors, [], NumpyOps()).shape == (0, 3)
    numpy.testing.assert_array_equal(floret_vectors(vectors, [nlp.vocab.strings.add("")], NumpyOps()), [[0, 0, 0]])
