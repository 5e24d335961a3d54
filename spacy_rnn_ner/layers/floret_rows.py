"""The vectors of many words of a floret table at once.

spaCy's ``Vectors.get_batch`` computes a floret vector in Python, n-gram by n-gram: the
padded word (``<word>``) and its character n-grams of ``minn``..``maxn`` characters,
each hashed with MurmurHash3_x64_128 into ``hash_count`` rows, whose mean is the vector.
For the words a process has not seen yet that loop is most of the cost of the static
vectors. :func:`floret_vectors` computes the same rows for all words with numpy (the
n-grams as byte ranges of one UTF-8 string, the hash over all of them at once) and the
same mean, in the same order, so the vectors are the same bit for bit.
"""
import functools
from typing import Sequence, Tuple

import numpy
from thinc.api import Ops
from thinc.types import Floats2d

_C1 = numpy.uint64(0x87C37B91114253D5)
_C2 = numpy.uint64(0x4CF5AD432745937F)


def _rotl(x: numpy.ndarray, r: int) -> numpy.ndarray:
    return (x << numpy.uint64(r)) | (x >> numpy.uint64(64 - r))


def _fmix(k: numpy.ndarray) -> numpy.ndarray:
    k = k ^ (k >> numpy.uint64(33))
    k = k * numpy.uint64(0xFF51AFD7ED558CCD)
    k = k ^ (k >> numpy.uint64(33))
    k = k * numpy.uint64(0xC4CEB9FE1A85EC53)
    return k ^ (k >> numpy.uint64(33))


def murmurhash3_x64_128(data: numpy.ndarray, lengths: numpy.ndarray, seed: int) -> numpy.ndarray:
    """MurmurHash3_x64_128 of byte strings: ``data`` (n, L) uint8, each row a string
    padded with zeros (L a multiple of 16, more than the longest), ``lengths`` their
    lengths in bytes. Returns (n, 2) uint64: ``h1, h2``."""
    words = data.view("<u8").astype(numpy.uint64)  # (n, L / 8), little-endian words
    lengths = lengths.astype(numpy.uint64)
    h1 = numpy.full(len(data), seed, dtype=numpy.uint64)
    h2 = h1.copy()
    n_blocks = lengths // numpy.uint64(16)
    for block in range(int(n_blocks.max()) if len(data) else 0):
        full = n_blocks > numpy.uint64(block)
        k1, k2 = words[full, 2 * block], words[full, 2 * block + 1]
        a, b = h1[full], h2[full]
        a ^= _rotl(k1 * _C1, 31) * _C2
        a = _rotl(a, 27) + b
        a = a * numpy.uint64(5) + numpy.uint64(0x52DCE729)
        b ^= _rotl(k2 * _C2, 33) * _C1
        b = _rotl(b, 31) + a
        b = b * numpy.uint64(5) + numpy.uint64(0x38495AB5)
        h1[full], h2[full] = a, b
    # the tail: the bytes after the last full block (the padding is zeros)
    rows = numpy.arange(len(data))
    tail = (lengths & numpy.uint64(15)).astype("int64")
    start = 2 * n_blocks.astype("int64")
    k1 = words[rows, numpy.minimum(start, words.shape[1] - 1)]
    k2 = words[rows, numpy.minimum(start + 1, words.shape[1] - 1)]
    h2 = numpy.where(tail > 8, h2 ^ (_rotl(k2 * _C2, 33) * _C1), h2)
    h1 = numpy.where(tail > 0, h1 ^ (_rotl(k1 * _C1, 31) * _C2), h1)
    h1 ^= lengths
    h2 ^= lengths
    h1 = h1 + h2
    h2 = h2 + h1
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = h1 + h2
    h2 = h2 + h1
    return numpy.stack([h1, h2], axis=1)


@functools.lru_cache(maxsize=256)
def _spans(n_chars: int, minn: int, maxn: int) -> numpy.ndarray:
    """(2, k) start and end characters of the n-grams of a padded word of ``n_chars``
    characters, in spaCy's order: the whole word, then by size and position."""
    spans = [(0, n_chars)] + [(start, start + size) for size in range(minn, maxn + 1)
                              for start in range(n_chars - size + 1)]
    return numpy.asarray(spans, dtype="int64").T


def ngram_rows(words: Sequence[str], minn: int, maxn: int, hash_count: int, hash_seed: int, n_rows: int,
               bow: str = "<", eow: str = ">") -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The table rows of the words' n-grams, flat, in spaCy's order (word by word: the
    padded word, then the n-grams by size and position, each with its ``hash_count``
    hashes), and the number of rows of each word (none for an empty word)."""
    padded = [bow + word + eow if word else "" for word in words]
    sizes = [len(word) for word in padded]
    per_word = [_spans(n, minn, maxn) if n else numpy.zeros((2, 0), dtype="int64") for n in sizes]
    counts = numpy.asarray([spans.shape[1] for spans in per_word], dtype="int64")
    n_hashes = min(hash_count, 4)
    if not counts.sum():
        return numpy.zeros((0,), dtype="int64"), counts * n_hashes
    starts, ends = numpy.concatenate(per_word, axis=1)
    which = numpy.repeat(numpy.arange(len(words)), counts)
    text = "".join(padded)
    code_points = numpy.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    n_bytes = 1 + (code_points >= 0x80) + (code_points >= 0x800) + (code_points >= 0x10000)
    byte_offset = numpy.concatenate([[0], numpy.cumsum(n_bytes)])
    word_offset = numpy.concatenate([[0], numpy.cumsum([len(word) for word in padded])])
    first = byte_offset[word_offset[which] + starts]
    lengths = byte_offset[word_offset[which] + ends] - first
    utf8 = numpy.frombuffer(text.encode("utf8"), dtype=numpy.uint8)
    hashes = numpy.empty((len(first), 2), dtype=numpy.uint64)
    n_blocks = lengths // 16
    for blocks in numpy.unique(n_blocks).tolist():  # rows of one width together (long words are rare)
        group = numpy.flatnonzero(n_blocks == blocks)
        columns = numpy.arange(16 * (blocks + 1))
        inside = columns < lengths[group, None]
        data = numpy.where(inside, utf8[numpy.where(inside, first[group, None] + columns, 0)], 0).astype(numpy.uint8)
        hashes[group] = murmurhash3_x64_128(data, lengths[group], hash_seed)
    # four 32-bit hashes per n-gram: h1 low, h1 high, h2 low, h2 high
    parts = numpy.stack([hashes[:, 0] & numpy.uint64(0xFFFFFFFF), hashes[:, 0] >> numpy.uint64(32),
                         hashes[:, 1] & numpy.uint64(0xFFFFFFFF), hashes[:, 1] >> numpy.uint64(32)], axis=1)
    rows = (parts[:, :n_hashes] % numpy.uint64(n_rows)).astype("int64").reshape(-1)
    return rows, counts * n_hashes


def floret_vectors(vectors, keys: Sequence[int], ops: Ops) -> Floats2d:
    """``vectors.get_batch(keys)`` for a floret table (spaCy's ``Vectors``), the same
    values, on the device of ``ops``."""
    strings = vectors.strings
    words = [strings.as_string(key) for key in keys]
    rows, counts = ngram_rows(words, vectors.minn, vectors.maxn, vectors.hash_count, vectors.hash_seed,
                              vectors.shape[0], vectors.bow, vectors.eow)
    if not len(rows):  # no word, or only empty ones
        return ops.alloc2f(len(words), vectors.shape[1])
    data = ops.asarray2f(vectors.data)
    return ops.reduce_mean(ops.as_contig(data[ops.asarray1i(rows)]), ops.asarray1i(counts))
