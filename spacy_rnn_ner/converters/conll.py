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

A token line skipped as malformed (``skip_malformed``) takes its entity with it: an
entity that contains the skipped token (by its tag, or - when the tag is unreadable - an
entity that continues on both sides of it) is dropped whole and reported, never joined
across the gap. A file with no tokens is an error. A byte-order mark inside the file
(files joined) is dropped and reported with its line.
"""
import re
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc
from spacy.training.iob_utils import biluo_tags_to_spans, biluo_to_iob, iob_to_biluo
from spacy.vocab import Vocab

from ..io import read_text
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


def doc_to_sentences(doc: Doc, report: Optional[ConversionReport] = None) -> List[Sentence]:
    """``(words, IOB2 tags)`` per sentence of ``doc`` (the whole doc if it has no
    sentence boundaries). Whitespace-only tokens are left out (tested on the text, so it
    works whatever the vocab); an entity made only of them is dropped. Sentences that an
    entity crosses are joined into one, so every other entity is written whole. Both
    cases are reported in ``report``, naming ``doc.user_data["name"]``."""
    name = doc.user_data.get("name") if doc.user_data else None
    tags = ["O"] * len(doc)
    for ent in doc.ents:
        kept = [t.i for t in ent if t.text.strip()]
        if not kept:
            if report is not None:
                report.issue("dropped", "whitespace entity", f"{ent.label_} at tokens "
                             f"{ent.start}-{ent.end} holds only whitespace", name,
                             label=ent.label_)
            continue
        tags[kept[0]] = "B-" + ent.label_
        for i in kept[1:]:
            tags[i] = "I-" + ent.label_
    starts = [s.start for s in doc.sents] if doc.has_annotation("SENT_START") else [0]
    joined = set()
    for ent in doc.ents:
        inside = [s for s in starts if ent.start < s < ent.end]
        if inside and report is not None:
            report.issue("adjusted", "sentences joined", f"{ent.label_} {ent.text!r} crosses "
                         f"{len(inside)} sentence boundary(ies); those sentences are "
                         f"written as one", name)
        joined.update(inside)
    bounds = [s for s in starts if s not in joined] + [len(doc)]
    out: List[Sentence] = []
    for a, b in zip(bounds, bounds[1:]):
        keep = [i for i in range(a, b) if doc[i].text.strip()]
        if keep:
            out.append(([doc[i].text for i in keep], [tags[i] for i in keep]))
    return out


def _resolve_gaps(words: List[Optional[str]], tags: List[Optional[str]],
                  lines: List[int]) -> Tuple[List[str], List[str], List[str],
                                             List[Tuple[str, int]]]:
    """Take skipped tokens (``words[i] is None``; ``tags[i]`` their tag, or ``None`` when
    unreadable) out of one sentence. Returns ``(words, IOB2 tags, labels of the
    entities read, [(label, line of the skipped token)] of the entities dropped)``."""
    full: List[str] = []
    for k, (word, tag) in enumerate(zip(words, tags)):
        if tag is None:  # unreadable: inside an entity only if it continues past the gap
            prev = full[k - 1] if k else "O"
            nxt = tags[k + 1] if k + 1 < len(tags) and tags[k + 1] is not None else "O"
            tag = "I-" + prev[2:] if prev != "O" and nxt == "I-" + prev[2:] else "O"
        full.append(tag)
    biluo = iob_to_biluo(full)
    read: List[str] = []
    dropped: List[Tuple[str, int]] = []
    start = 0
    for i, tag in enumerate(biluo):
        if tag[:2] in ("B-", "U-"):
            start = i
        if tag[:2] in ("L-", "U-"):
            read.append(tag[2:])
            gaps = [lines[j] for j in range(start, i + 1) if words[j] is None]
            if gaps:
                dropped.append((tag[2:], gaps[0]))
                biluo[start:i + 1] = ["O"] * (i + 1 - start)
    keep = [i for i, word in enumerate(words) if word is not None]
    return ([words[i] for i in keep], biluo_to_iob([biluo[i] for i in keep]), read,
            dropped)


def _without_byte_order_marks(lines: List[str], path: Path, report: ConversionReport) -> List[str]:
    """``lines`` without U+FEFF (a byte-order mark inside the file, where two files were
    joined: invisible, it would be glued to a token); each line that held one is reported
    (the one at the very start of the file is dropped on reading, silently)."""
    for i, line in enumerate(lines):
        if "\ufeff" in line:
            report.issue("note", "byte-order mark", "a byte-order mark (U+FEFF) inside the file "
                         "(two files joined?) dropped", path, i + 1)
            lines[i] = line.replace("\ufeff", "")
    return lines


def read_conll(path: PathLike, vocab: Vocab, report: Optional[ConversionReport] = None,
               skip_malformed: bool = False) -> List[Doc]:
    """Docs from a CoNLL column file (see module docstring).

    Malformed lines (bad tag, fewer than two columns, a column count different from the
    file's first token line) raise :class:`ConversionError` naming file and line, or with
    ``skip_malformed`` are skipped (the token is left out) and counted in ``report``.
    """
    path = Path(path)
    report = report if report is not None else ConversionReport(str(path))
    docs: List[Doc] = []
    lines = _without_byte_order_marks(read_text(path).split("\n"), path, report)
    has_docstart = any(_COL_SEP.split(line.strip(" \t"))[0] == DOCSTART for line in lines)
    n_cols: Optional[int] = None
    doc_sents: List[Sentence] = []
    words: List[Optional[str]] = []  # None: a skipped token
    tags: List[Optional[str]] = []
    line_nos: List[int] = []

    def end_sentence() -> None:
        if any(w is not None for w in words):
            kept, iob, read, dropped = _resolve_gaps(words, tags, line_nos)
            doc_sents.append((kept, iob))
            report.read_sents += 1
            report.read_tokens += len(kept)
            report.read_ents.update(read)
            for label, line in dropped:
                report.issue("dropped", "entity with skipped token", f"{label} entity "
                             f"contains the token skipped on line {line}", path, line,
                             label=label)
        words.clear()
        tags.clear()
        line_nos.clear()

    docstarts: List[int] = []  # lines of the -DOCSTART- lines read so far
    sections = [0]  # documents so far, empty ones included (they keep their number)

    def end_doc() -> None:
        end_sentence()
        if not doc_sents and not docstarts:  # nothing before the first -DOCSTART-
            return
        sections[0] += 1
        number = sections[0] if has_docstart else len(docs) + 1
        if doc_sents:
            docs.append(sentences_to_doc(vocab, doc_sents, name=f"{path.name}#{number}"))
            report.read_docs += 1
        elif docstarts:
            report.issue("skipped", "empty document", f"document {path.name}#{number} (the "
                         "-DOCSTART- line) has no tokens", path, docstarts[-1])
        doc_sents.clear()

    def skip(message: str, line_no: int, cols: List[str]) -> None:
        report.malformed(message, path, line_no, skip_malformed)
        words.append(None)
        tags.append(cols[-1] if len(cols) > 1 and TAG_RE.match(cols[-1]) else None)
        line_nos.append(line_no)

    for line_no, line in enumerate(lines, start=1):
        if not line.strip(" \t"):
            end_sentence()
            if not has_docstart:
                end_doc()
            continue
        cols = _COL_SEP.split(line.strip(" \t"))
        if cols[0] == DOCSTART:
            end_doc()
            docstarts.append(line_no)
            continue
        if len(cols) < 2:
            skip(f"expected a token and a tag, found {len(cols)} column(s): {line!r}",
                 line_no, cols)
            continue
        if n_cols is None:
            n_cols = len(cols)
        elif len(cols) != n_cols:
            skip(f"expected {n_cols} columns like the first token line, found "
                 f"{len(cols)}: {line!r}", line_no, cols)
            continue
        if not TAG_RE.match(cols[-1]):
            try:
                check_tag(cols[-1], path, line_no)
            except ConversionError as err:
                skip(err.message, line_no, cols)
                continue
        words.append(cols[0])
        tags.append(cols[-1])
        line_nos.append(line_no)
    end_doc()
    if not docs:
        skipped = report.count("skipped", "malformed line")
        raise ConversionError("no tokens found (empty, or only -DOCSTART- lines"
                              + (f"; {skipped} malformed line(s) skipped" if skipped else "")
                              + ")", path)
    return docs


def convert_conll(input_path: PathLike, output: PathLike, lang: str = "xx",
                  skip_malformed: bool = False) -> ConversionReport:
    """CoNLL file ``input_path`` -> ``output`` (.spacy). Returns the report."""
    import spacy

    report = ConversionReport(f"CoNLL {input_path}")
    docs = read_conll(input_path, spacy.blank(lang).vocab, report, skip_malformed)
    write_docbin(docs, output, report)
    return report
