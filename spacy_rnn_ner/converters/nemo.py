"""NVIDIA NeMo / TAO token-classification files <-> spaCy Docs.

``text.txt`` holds one sentence per line, words separated by spaces; ``labels.txt`` the
line-aligned IOB tags (``O``, ``B-X``, ``I-X``), as many per line as there are words.
Reading: each line is a sentence, ``n_sents`` sentences make one Doc (default 1); blank
lines (blank in both files) are ignored. A line with different numbers of words and
labels, a line blank in one file only, an invalid tag, or a non-blank line with no
counterpart in the other file (one file longer) is a :class:`ConversionError` naming file
and line (or, with ``skip_malformed``, skipped and reported line by line). Files without
any sentence are an error. Writing: one line per sentence of each Doc (the whole Doc
without sentence boundaries; sentences that an entity crosses are joined into one line);
whitespace tokens are left out, whitespace inside a token (also a no-break space) becomes
``_`` (all reported); an entity label holding whitespace is an error. Reading splits words
at any whitespace, as NeMo does; a line with a no-break space or another non-ASCII space
is reported.
"""
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple

from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..io import atomic_output, read_docbin, read_text
from .conll import Sentence, check_tag, doc_to_sentences, entity_labels, group_sentences
from .report import (ConversionError, ConversionReport, PathLike, SplitStats, count_sents,
                     write_docbin)


def read_nemo(text_path: PathLike, labels_path: PathLike, vocab: Vocab, n_sents: int = 1,
              report: Optional[ConversionReport] = None,
              skip_malformed: bool = False) -> List[Doc]:
    """Docs from a ``text.txt`` / ``labels.txt`` pair (see module docstring)."""
    text_path, labels_path = Path(text_path), Path(labels_path)
    report = report if report is not None else ConversionReport(str(text_path))
    docs = group_sentences(_nemo_sentences(text_path, labels_path, report, skip_malformed),
                           vocab, n_sents, report, text_path.name)
    if not docs:
        skipped = report.count("skipped", "malformed line")
        raise ConversionError("no sentences found (empty files"
                              + (f"; {skipped} malformed line(s) skipped" if skipped else "")
                              + f"; labels: {labels_path})", text_path)
    return docs


def _nemo_sentences(text_path: Path, labels_path: Path, report: ConversionReport,
                    skip_malformed: bool) -> Iterator[Sentence]:
    """``(words, tags)`` per line pair; malformed lines raise or are skipped."""
    text_lines, label_lines = _lines(text_path), _lines(labels_path)
    for i in range(max(len(text_lines), len(label_lines))):
        line_no = i + 1
        if i >= len(text_lines) or i >= len(label_lines):
            longer, shorter, extra = (labels_path, text_path, label_lines[i]) \
                if i >= len(text_lines) else (text_path, labels_path, text_lines[i])
            if extra.strip():
                report.malformed(f"line {line_no} has no counterpart: {shorter} has only "
                                 f"{min(len(text_lines), len(label_lines))} lines", longer,
                                 line_no, skip_malformed)
            continue
        words, tags = text_lines[i].split(), label_lines[i].split()
        odd = sorted({c for c in text_lines[i].strip() if c.isspace() and c not in " \t"})
        if odd:
            report.issue("note", "unusual space", "words separated at "
                         + ", ".join(f"U+{ord(c):04X}" for c in odd)
                         + " as at a space (as NeMo reads them)", text_path, line_no)
        if len(words) != len(tags):
            report.malformed(f"{len(words)} words in {text_path.name} but {len(tags)} labels "
                             f"in {labels_path.name}", labels_path, line_no, skip_malformed)
            continue
        bad = next((t for t in tags if not _valid(t)), None)
        if bad is not None:
            report.malformed(f"invalid IOB tag {bad!r}", labels_path, line_no, skip_malformed)
            continue
        yield words, tags


def _lines(path: Path) -> List[str]:
    """Lines split at ``\\n`` only (``str.splitlines`` also splits at U+2028 etc.)."""
    lines = read_text(path).split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _valid(tag: str) -> bool:
    try:
        check_tag(tag)
    except ConversionError:
        return False
    return True


def check_nemo_label(label: str, path: Optional[PathLike] = None) -> str:
    """``label`` if it can be a NeMo label (no whitespace: labels are separated by
    spaces); else a :class:`ConversionError` naming it."""
    if not label or any(c.isspace() for c in label):
        raise ConversionError(f"entity label {label!r} cannot be written to NeMo labels "
                              "(they are separated by spaces); rename it", path)
    return label


def write_nemo(docs: Iterable[Doc], out_dir: PathLike, suffix: str = "",
               report: Optional[ConversionReport] = None) -> Tuple[Path, Path]:
    """Write ``out_dir/text{suffix}.txt`` and ``out_dir/labels{suffix}.txt``; count what
    was written in ``report`` under the split ``nemo``. Returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text_path, labels_path = out_dir / f"text{suffix}.txt", out_dir / f"labels{suffix}.txt"
    report = report if report is not None else ConversionReport()
    stats = report.splits.setdefault("nemo", SplitStats())
    report.outputs["text"], report.outputs["labels"] = str(text_path), str(labels_path)
    with atomic_output(text_path) as ft, atomic_output(labels_path) as fl:
        for doc in docs:
            n_space = sum(1 for t in doc if not t.text.strip())
            if n_space:
                report.issue("note", "whitespace tokens", f"{n_space} whitespace token(s) "
                             f"left out", doc.user_data.get("name"))
            for ent in doc.ents:
                check_nemo_label(ent.label_, doc.user_data.get("name"))
            n_unset = sum(1 for t in doc if t.ent_iob == 0 and t.text.strip())
            if n_unset:
                report.issue("adjusted", "no NER annotation", f"{n_unset} token(s) without "
                             "an entity tag (unset, not O) written as O", doc.user_data.get("name"))
            sentences = doc_to_sentences(doc, report)
            stats.docs += 1
            for words, tags in sentences:
                clean = ["_".join(w.split()) for w in words]
                for w, c in zip(words, clean):
                    if w != c:
                        report.issue("adjusted", "whitespace in token", f"{w!r} -> {c!r}",
                                     doc.user_data.get("name"))
                ft.write(" ".join(clean) + "\n")
                fl.write(" ".join(tags) + "\n")
                stats.sents += 1
                stats.tokens += len(words)
                stats.ents.update(entity_labels(tags))
    return text_path, labels_path


def convert_nemo(text_path: PathLike, labels_path: PathLike, output: PathLike,
                 lang: str = "xx", n_sents: int = 1,
                 skip_malformed: bool = False) -> ConversionReport:
    """``text.txt`` + ``labels.txt`` -> ``output`` (.spacy). Returns the report."""
    import spacy

    report = ConversionReport(f"NeMo {text_path} + {labels_path}")
    docs = read_nemo(text_path, labels_path, spacy.blank(lang).vocab, n_sents, report,
                     skip_malformed)
    write_docbin(docs, output, report)
    return report


def convert_to_nemo(input_path: PathLike, out_dir: PathLike, suffix: str = "") -> ConversionReport:
    """``input_path`` (.spacy) -> ``out_dir/text{suffix}.txt`` + ``labels{suffix}.txt``.
    A DocBin without NER annotation is an error; tokens whose entity tag is unset in an
    annotated one are written as ``O`` and reported."""
    report = ConversionReport(f"{input_path} to NeMo")
    docs = read_docbin(input_path)
    if not docs:
        raise ConversionError("holds no documents", input_path)
    report.read_docs = len(docs)
    for doc in docs:
        report.read_tokens += len(doc)
        report.read_sents += count_sents(doc)
        report.read_ents.update(e.label_ for e in doc.ents)
    for label in report.read_ents:
        check_nemo_label(label, input_path)
    if not any(doc.has_annotation("ENT_IOB") for doc in docs):
        raise ConversionError("holds no NER annotation (no token has an entity tag, not even "
                              "O): its labels would all be O; give annotated documents", input_path)
    write_nemo(docs, out_dir, suffix, report)
    return report
