"""Words + IOB tags <-> spaCy ``Doc``, and the CoNLL column-file reader.

:func:`sentences_to_doc` is the one 'words + BIO tags -> Doc' helper used by the CoNLL,
Hugging Face and NeMo converters; :func:`doc_to_sentences` is its inverse;
:func:`group_sentences` counts sentences read and groups them ``n_sents`` to a Doc.

CoNLL layout: a token per line, token in the first column and the NER tag in the last
(CoNLL-2003 has four columns, two columns also work; tabs or spaces), a blank line
between sentences, ``-DOCSTART-`` lines between documents. Tags are IOB1 (``I-X`` may
start an entity) or IOB2 (``B-X`` starts every entity); both read the same way through
``spacy.training.iob_to_biluo``. A file without ``-DOCSTART-`` gives one Doc per
sentence. Entities never cross sentence boundaries (tags are decoded per sentence).
"""
import re
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc
from spacy.training.iob_utils import (biluo_tags_to_spans, biluo_to_iob, doc_to_biluo_tags,
                                      iob_to_biluo)
from spacy.vocab import Vocab

from .report import ConversionError, ConversionReport, PathLike, write_docbin

Sentence = Tuple[List[str], List[str]]  # (words, IOB tags)

TAG_RE = re.compile(r"^(?:O|[BI]-\S+)$")
DOCSTART = "-DOCSTART-"
_COL_SEP = re.compile(r"[ \t]+")  # columns: spaces or tabs (not other Unicode spaces)


def check_tag(tag: str, path: Optional[PathLike] = None, line: Optional[int] = None) -> str:
    """Return ``tag`` if it is ``O``, ``B-X`` or ``I-X``; else raise
    :class:`ConversionError` naming ``path`` and ``line``."""
    if not TAG_RE.match(tag):
        raise ConversionError(f"invalid IOB tag {tag!r} (expected O, B-LABEL or I-LABEL)",
                              path, line)
    return tag


def entity_labels(tags: Sequence[str]) -> List[str]:
    """Labels of the entities in one sentence of IOB1/IOB2 ``tags``."""
    return [t[2:] for t in iob_to_biluo(tags) if t[:2] in ("B-", "U-")]


def sentences_to_doc(vocab: Vocab, sentences: Sequence[Sentence],
                     name: Optional[str] = None) -> Doc:
    """One Doc from sentences of ``(words, iob_tags)``: words joined by single spaces,
    ``is_sent_start`` set at each sentence, entities from the IOB1/IOB2 tags (decoded
    per sentence). ``name`` goes to ``doc.user_data["name"]``. Tags must be valid
    (see :func:`check_tag`); words must be non-empty strings."""
    words: List[str] = []
    sent_starts: List[bool] = []
    biluo: List[str] = []
    for sent_words, sent_tags in sentences:
        if len(sent_words) != len(sent_tags):
            raise ValueError(f"{len(sent_words)} words but {len(sent_tags)} tags")
        if not sent_words:
            continue
        words.extend(sent_words)
        sent_starts.extend([True] + [False] * (len(sent_words) - 1))
        biluo.extend(iob_to_biluo(sent_tags))
    spaces = [True] * len(words)
    if spaces:
        spaces[-1] = False
    doc = Doc(vocab, words=words, spaces=spaces, sent_starts=sent_starts or None)
    doc.ents = biluo_tags_to_spans(doc, biluo)
    if name is not None:
        doc.user_data["name"] = name
    return doc


def group_sentences(sentences: Iterable[Sentence], vocab: Vocab, n_sents: int,
                    report: ConversionReport, name: str) -> List[Doc]:
    """Docs of ``n_sents`` consecutive ``sentences`` each (the last may have fewer), named
    ``{name}#1``, ``{name}#2``...; empty sentences are left out. Counts the sentences,
    tokens and entities read, and the Docs made, in ``report``."""
    docs: List[Doc] = []
    group: List[Sentence] = []

    def flush() -> None:
        if group:
            docs.append(sentences_to_doc(vocab, group, name=f"{name}#{len(docs) + 1}"))
            report.read_docs += 1
            group.clear()

    for words, tags in sentences:
        if not words:
            continue
        group.append((words, tags))
        report.read_sents += 1
        report.read_tokens += len(words)
        report.read_ents.update(entity_labels(tags))
        if len(group) >= max(1, n_sents):
            flush()
    flush()
    return docs


def doc_to_sentences(doc: Doc) -> List[Sentence]:
    """``(words, IOB2 tags)`` per sentence of ``doc`` (the whole doc if it has no
    sentence boundaries). Whitespace-only tokens are left out; an entity cut by a
    sentence boundary restarts with ``B-`` in the next sentence."""
    iob = biluo_to_iob(doc_to_biluo_tags(doc, missing="O"))
    sents = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
    out: List[Sentence] = []
    for sent in sents:
        words: List[str] = []
        tags: List[str] = []
        for token in sent:
            if token.is_space:
                continue
            tag = iob[token.i]
            if tag.startswith("I-") and (not tags or tags[-1] == "O" or tags[-1][2:] != tag[2:]):
                tag = "B-" + tag[2:]
            words.append(token.text)
            tags.append(tag)
        if words:
            out.append((words, tags))
    return out


def read_conll(path: PathLike, vocab: Vocab, report: Optional[ConversionReport] = None,
               skip_malformed: bool = False) -> List[Doc]:
    """Docs from a CoNLL column file (see module docstring).

    Malformed lines (bad tag, fewer than two columns, a column count different from the
    file's first token line) raise :class:`ConversionError` naming file and line, or with
    ``skip_malformed`` are skipped (the token is left out) and counted in ``report``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    report = report if report is not None else ConversionReport(str(path))
    docs: List[Doc] = []
    with path.open(encoding="utf-8", newline="") as f:
        lines = [line.rstrip("\r\n") for line in f.read().split("\n")]
    has_docstart = any(_COL_SEP.split(line.strip(" \t"))[0] == DOCSTART for line in lines)
    n_cols: Optional[int] = None
    doc_sents: List[Sentence] = []
    words: List[str] = []
    tags: List[str] = []

    def end_sentence() -> None:
        if words:
            doc_sents.append((list(words), list(tags)))
            report.read_sents += 1
            report.read_tokens += len(words)
            report.read_ents.update(entity_labels(tags))
        words.clear()
        tags.clear()

    def end_doc() -> None:
        end_sentence()
        if doc_sents:
            docs.append(sentences_to_doc(vocab, doc_sents, name=f"{path.name}#{len(docs) + 1}"))
            report.read_docs += 1
        doc_sents.clear()

    for line_no, line in enumerate(lines, start=1):
        if not line.strip(" \t"):
            end_sentence()
            if not has_docstart:
                end_doc()
            continue
        cols = _COL_SEP.split(line.strip(" \t"))
        if cols[0] == DOCSTART:
            end_doc()
            continue
        if len(cols) < 2:
            report.malformed(f"expected a token and a tag, found {len(cols)} column(s): "
                             f"{line!r}", path, line_no, skip_malformed)
            continue
        if n_cols is None:
            n_cols = len(cols)
        elif len(cols) != n_cols:
            report.malformed(f"expected {n_cols} columns like the first token line, "
                             f"found {len(cols)}: {line!r}", path, line_no, skip_malformed)
            continue
        if not TAG_RE.match(cols[-1]):
            try:
                check_tag(cols[-1], path, line_no)
            except ConversionError as err:
                report.malformed(err.message, path, line_no, skip_malformed)
                continue
        words.append(cols[0])
        tags.append(cols[-1])
    end_doc()
    return docs


def convert_conll(input_path: PathLike, output: PathLike, lang: str = "xx",
                  skip_malformed: bool = False) -> ConversionReport:
    """CoNLL file ``input_path`` -> ``output`` (.spacy). Returns the report."""
    import spacy

    report = ConversionReport(f"CoNLL {input_path}")
    docs = read_conll(input_path, spacy.blank(lang).vocab, report, skip_malformed)
    write_docbin(docs, output, report)
    return report
