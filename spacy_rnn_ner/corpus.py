"""``spacy_rnn_ner.Corpus.v1``: spaCy's ``Corpus`` reader without silent drops.

spaCy's ``Corpus`` splits a document longer than ``max_length`` tokens into its
sentences, but drops the document when it has no sentence boundaries, and drops every
sentence that is itself too long, without a word. This reader cuts such text into
pieces shorter than ``max_length`` instead, never inside an entity (an entity longer
than ``max_length`` stays whole, in a piece that long), and warns once per pass with
the counts, naming ``corpora.*.max_length``.
"""
import warnings
import zlib
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Union

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus, Example
from spacy.util import registry

from .errors import config_error
from .file_kinds import is_docbin, read_head


def piece_limit(max_length: int) -> int:
    """Most tokens of a piece cut for ``max_length`` (shorter than it, at least one)."""
    return max(max_length - 1, 1)


def split_points(length: int, max_length: int, inside_entity: numpy.ndarray) -> List[int]:
    """Cut positions so every piece is shorter than ``max_length`` tokens (at least one
    token), moved back to before an entity that a cut would split; an entity that is
    itself too long for a piece is kept whole: its piece runs to the entity's end.
    ``inside_entity[i]``: a cut at position ``i`` would split an entity."""
    cuts, start = [], 0
    limit = piece_limit(max_length)
    while length - start > limit:
        cut = start + limit
        while cut > start and inside_entity[cut]:
            cut -= 1
        if cut == start:  # an entity from ``start`` longer than the limit: keep it whole
            cut = start + limit
            while cut < length and inside_entity[cut]:
                cut += 1
        if cut >= length:
            break
        cuts.append(cut)
        start = cut
    return cuts


def cut_doc(doc: Doc, max_length: int) -> List[Doc]:
    """``doc`` (a reference doc with its annotation) in pieces shorter than ``max_length``,
    except where an entity of ``max_length`` tokens or more is kept whole."""
    inside = numpy.zeros((len(doc) + 1,), dtype=bool)
    for ent in doc.ents:
        inside[ent.start + 1 : ent.end] = True  # a cut at these positions splits ``ent``
    bounds = [0] + split_points(len(doc), max_length, inside) + [len(doc)]
    return [doc[a:b].as_doc() for a, b in zip(bounds, bounds[1:]) if b > a]


def packed_sentences(sentence_lengths: List[int], max_length: int) -> List[int]:
    """Boundaries (token offsets, from 0 to the total) of consecutive sentences packed
    greedily into pieces shorter than ``max_length`` tokens; a sentence that is itself
    too long makes a piece of its own."""
    bounds, start, end = [0], 0, 0
    for length in sentence_lengths:
        if end > start and end + length - start >= max_length:
            bounds.append(end)
            start = end
        end += length
    if end > start:
        bounds.append(end)
    return bounds


def make_example(nlp: Language, reference: Doc) -> Example:
    """An example whose predicted doc is ``nlp``'s tokenization of the reference text
    (the reference's own tokens when its spacing is unknown), as spaCy's ``Corpus``
    makes them."""
    if reference.has_unknown_spaces:
        words = [token.text for token in reference]
        spaces = [bool(token.whitespace_) for token in reference]
        return Example(Doc(nlp.vocab, words=words, spaces=spaces), reference)
    return Example(nlp.make_doc(reference.text), reference)


class CuttingCorpus(Corpus):
    """spaCy's ``Corpus``; long docs and sentences are cut, not dropped."""

    def __init__(self, path: Union[str, Path], *, name: str = "corpora.train",
                 pack_sentences: bool = False, **kwargs) -> None:
        super().__init__(path, **kwargs)
        self.name = name
        self.pack_sentences = pack_sentences

    def make_examples(self, nlp: Language, reference_docs: Iterable[Doc]) -> Iterator[Example]:
        n_cut, n_pieces, n_long = 0, 0, 0
        for reference in reference_docs:
            if len(reference) == 0:
                continue
            if self.max_length == 0 or len(reference) < self.max_length:
                yield make_example(nlp, reference)
                continue
            if not reference.has_annotation("SENT_START"):
                parts = [reference]
            elif self.pack_sentences:
                bounds = packed_sentences([len(s) for s in reference.sents], self.max_length)
                parts = [reference[a:b].as_doc() for a, b in zip(bounds, bounds[1:])]
            else:
                parts = [s.as_doc() for s in reference.sents]
            for part in parts:
                if len(part) == 0:
                    continue
                if len(part) < self.max_length:
                    yield make_example(nlp, part)
                    continue
                pieces = cut_doc(part, self.max_length)
                n_cut += 1
                n_pieces += len(pieces)
                n_long += sum(1 for piece in pieces if len(piece) > piece_limit(self.max_length))
                for piece in pieces:
                    yield make_example(nlp, piece)
        if n_cut:
            limit = piece_limit(self.max_length)
            long = (f"; {n_long} of them are longer, to keep an entity of more than {limit} "
                    f"token(s) whole" if n_long else "")
            warnings.warn(
                f"{self.path}: {n_cut} text(s) of {self.max_length} tokens or more without "
                f"shorter sentences were cut into {n_pieces} pieces of at most {limit} "
                f"token(s) (nothing dropped, no entity split){long}; raise "
                f"{self.name}.max_length (0: no limit) to train on them whole."
            )


def looks_like_docbin(path: Path) -> bool:
    """Whether a file starts as a DocBin does (:func:`~spacy_rnn_ner.file_kinds.is_docbin`,
    from its first bytes only): garbage or another format is caught before training starts."""
    return is_docbin(read_head(path))


def docbin_is_complete(path: Path, chunk: int = 1 << 20) -> bool:
    """Whether the zlib stream of a DocBin file is whole (a file cut short, by a full disk
    or an interrupted copy, starts as a DocBin does but fails half-way through training's
    initialization). The file is decompressed once, piece by piece, and nothing is kept."""
    inflate = zlib.decompressobj()
    try:
        with open(path, "rb") as f:
            while not inflate.eof:
                data = f.read(chunk)
                if not data:
                    break
                while data and not inflate.eof:
                    inflate.decompress(data, chunk)
                    data = inflate.unconsumed_tail
    except (OSError, zlib.error):
        return False
    return inflate.eof


#: a DocBin file this small may hold no document: it is read to find out
SMALL_DOCBIN = 4096


def holds_no_documents(path: Path) -> bool:
    """Whether a DocBin file holds no document (only small files are read: a larger one
    holds some)."""
    from spacy.tokens import DocBin

    path = Path(path)
    if path.stat().st_size > SMALL_DOCBIN:
        return False
    try:
        return len(DocBin().from_bytes(path.read_bytes())) == 0
    except Exception:  # damaged: spaCy's reader reports it
        return False


@registry.readers("spacy_rnn_ner.Corpus.v1")
def create_corpus_reader(
    path: Optional[Path],
    gold_preproc: bool = False,
    max_length: int = 0,
    limit: int = 0,
    augmenter: Optional[Callable] = None,
    name: str = "corpora.train",
    pack_sentences: bool = False,
) -> Callable[[Language], Iterable[Example]]:
    """spaCy's ``spacy.Corpus.v1`` with the same settings, except that documents and
    sentences of ``max_length`` tokens or more are cut into shorter pieces (with a
    warning) instead of silently dropped. ``name``: the config block, for the message.
    ``pack_sentences``: a document of ``max_length`` tokens or more is split into runs of
    consecutive sentences shorter than ``max_length`` (as many as fit) rather than into
    single sentences, so a model with document context trains on several sentences."""
    for setting, value in (("max_length", max_length), ("limit", limit)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise config_error(name, setting, f"{name}.{setting}: expected a number of tokens "
                               f"(documents for limit) of 0 or more (0: no limit), got {value!r}")
    if path is None:
        raise config_error(name, "path", "spacy_rnn_ner.Corpus.v1: 'path' is not set (e.g. --paths.train).")
    if not Path(path).exists():  # a config error: spacy train prints it without a traceback
        raise config_error(name, "path", f"{name}.path: {path}: no such file or folder")
    from spacy.training.corpus import walk_corpus

    files = walk_corpus(path, ".spacy")
    for file in files:
        if not looks_like_docbin(file):
            raise config_error(name, "path", f"{name}.path: {file}: not a spaCy DocBin (.spacy) file")
        if not docbin_is_complete(file):
            raise config_error(name, "path", f"{name}.path: {file}: not a complete spaCy DocBin "
                               "(cut short, or damaged): write or copy it again")
    if not files or all(holds_no_documents(file) for file in files):
        where = "holds no documents" if Path(path).is_file() else "holds no .spacy file with documents"
        raise config_error(name, "path", f"{name}.path: {path}: {where} (training and "
                           "evaluating on nothing would give scores of nothing)")
    return CuttingCorpus(
        path, gold_preproc=gold_preproc, max_length=max_length, limit=limit, augmenter=augmenter,
        name=name, pack_sentences=pack_sentences,
    )
