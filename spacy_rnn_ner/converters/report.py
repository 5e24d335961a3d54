"""Conversion accounting shared by all converters.

* :class:`ConversionError` - a malformed input line (names file and line).
* :class:`ConversionReport` - what was read, what was written (per split), and every
  annotation that was dropped, adjusted, skipped or ignored, with file and line. Its
  balance holds for every converter: per label, entities read = entities written +
  entities reported as dropped (:meth:`ConversionReport.unbalanced`).
* :func:`write_docbin` - the DocBin writer of the converters (:mod:`spacy_rnn_ner.io`),
  through the report so the printed figures are exactly what is on disk.
"""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional

from spacy.tokens import Doc

from .. import io
from ..errors import InputError, PathLike, where
from ..io import atomic_output, check_writable

#: Issue actions. ``dropped``/``adjusted`` concern entities, ``skipped`` malformed lines or
#: missing documents, ``ignored`` input lines that carry no entity (brat notes,
#: relations...), ``note`` anything worth knowing that changed nothing.
ACTIONS = ("dropped", "adjusted", "skipped", "ignored", "note")


#: malformed input, ``str(err)`` reads ``PATH:LINE: message`` (the name stays for callers;
#: one class, :class:`~spacy_rnn_ner.errors.InputError`)
ConversionError = InputError


@dataclass
class Issue:
    """One reported event: ``action`` (see :data:`ACTIONS`), a short ``kind`` used for
    counting (e.g. ``"overlap"``), a human ``message``, and where it happened. A
    ``dropped`` issue about an entity names its ``label``."""

    action: str
    kind: str
    message: str
    path: Optional[str] = None
    line: Optional[int] = None
    label: Optional[str] = None

    def __str__(self) -> str:
        return f"{self.action:<8} {self.kind:<22} {where(self.path, self.line)}{self.message}"


@dataclass
class SplitStats:
    """Counts of what was written to one split."""

    docs: int = 0
    sents: int = 0
    tokens: int = 0
    ents: Counter = field(default_factory=Counter)

    def add(self, doc: Doc) -> None:
        self.docs += 1
        self.tokens += len(doc)
        self.sents += count_sents(doc)
        self.ents.update(ent.label_ for ent in doc.ents)


def count_sents(doc: Doc) -> int:
    """Number of sentences; a document without sentence boundaries counts as one."""
    if len(doc) == 0:
        return 0
    if not doc.has_annotation("SENT_START"):
        return 1
    return sum(1 for token in doc if token.is_sent_start)


class ConversionReport:
    """Counts and issues of one conversion run.

    ``read_*`` are filled by the readers (documents, sentences, tokens and entity
    annotations found in the input), ``splits`` by :meth:`add_doc` (what goes out), and
    ``issues`` by :meth:`issue` / :meth:`malformed`.
    """

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.read_docs = 0
        self.read_sents = 0
        self.read_tokens = 0
        self.read_ents: Counter = Counter()
        #: ``{(old_label, new_label): n}`` entities renamed by a label map
        self.relabelled: Counter = Counter()
        self.splits: Dict[str, SplitStats] = {}
        self.outputs: Dict[str, str] = {}
        self.issues: List[Issue] = []

    # -- filling -------------------------------------------------------------------
    def issue(self, action: str, kind: str, message: str,
              path: Optional[PathLike] = None, line: Optional[int] = None,
              label: Optional[str] = None) -> Issue:
        """Record one issue and return it; an entity that is not written is
        ``issue("dropped", ..., label=LABEL)``."""
        if action not in ACTIONS:
            raise ValueError(f"unknown issue action {action!r}")
        item = Issue(action, kind, message, None if path is None else str(path), line, label)
        self.issues.append(item)
        return item

    def malformed(self, message: str, path: Optional[PathLike], line: Optional[int],
                  skip: bool) -> None:
        """A malformed input line: raise :class:`ConversionError`, or with ``skip``
        record it as skipped."""
        if not skip:
            raise ConversionError(message, path, line)
        self.issue("skipped", "malformed line", message, path, line)

    def add_doc(self, split: str, doc: Doc) -> None:
        """Count ``doc`` as written to ``split``."""
        self.splits.setdefault(split, SplitStats()).add(doc)

    # -- reading back --------------------------------------------------------------
    def count(self, action: Optional[str] = None, kind: Optional[str] = None) -> int:
        """Number of issues with this action and/or kind."""
        return sum(1 for i in self.issues
                   if (action is None or i.action == action) and (kind is None or i.kind == kind))

    def dropped_ents(self) -> Counter:
        """Entities reported as not written, per label."""
        return Counter(i.label for i in self.issues if i.action == "dropped" and i.label)

    def unbalanced(self) -> Dict[str, Dict[str, int]]:
        """Labels whose entities read (after renaming by a label map:
        :attr:`relabelled`) differ from written + dropped:
        ``{label: {"read": n, "written": n, "dropped": n}}`` (empty when balanced)."""
        written, dropped = self.total.ents, self.dropped_ents()
        read = Counter(self.read_ents)
        for (old, new), n in self.relabelled.items():
            read[old] -= n
            read[new] += n
        labels = set(read) | set(written) | set(dropped)
        return {lab: {"read": read[lab], "written": written[lab], "dropped": dropped[lab]}
                for lab in sorted(labels)
                if read[lab] != written[lab] + dropped[lab]}

    def issue_counts(self) -> Counter:
        """``{(action, kind): n}``."""
        return Counter((i.action, i.kind) for i in self.issues)

    @property
    def total(self) -> SplitStats:
        """Sum over all splits."""
        out = SplitStats()
        for stats in self.splits.values():
            out.docs += stats.docs
            out.sents += stats.sents
            out.tokens += stats.tokens
            out.ents.update(stats.ents)
        return out

    def labels(self) -> List[str]:
        labels = set(self.read_ents)
        for stats in self.splits.values():
            labels.update(stats.ents)
        return sorted(labels)

    def format(self, max_issues: Optional[int] = 50) -> str:
        """A small readable table: read, written per split, issue counts and details
        (at most ``max_issues`` detail lines; ``None`` for all)."""
        labels = self.labels()
        out: List[str] = []
        title = f"Converted {self.source}" if self.source else "Conversion summary"
        out.append(title)
        read_ents = sum(self.read_ents.values())
        per_label = ", ".join(f"{lab} {self.read_ents[lab]:,}" for lab in labels)
        out.append(f"read:  {self.read_docs:,} documents, {self.read_sents:,} sentences, "
                   f"{self.read_tokens:,} tokens, {read_ents:,} entities"
                   + (f" ({per_label})" if per_label else ""))
        if self.relabelled:
            out.append("relabelled: " + ", ".join(f"{old}->{new} {n:,}" for (old, new), n
                                                   in sorted(self.relabelled.items())))
        header = ["split", "docs", "sents", "tokens", "ents"] + labels
        rows = [[name, s.docs, s.sents, s.tokens, sum(s.ents.values())]
                + [s.ents[lab] for lab in labels] for name, s in self.splits.items()]
        if len(self.splits) > 1:
            t = self.total
            rows.append(["total", t.docs, t.sents, t.tokens, sum(t.ents.values())]
                        + [t.ents[lab] for lab in labels])
        out.append("wrote:")
        out.extend("  " + line for line in _table(header, rows))
        for name, path in self.outputs.items():
            out.append(f"  {name}: {path}")
        dropped = Counter((i.kind, i.label) for i in self.issues
                          if i.action == "dropped" and i.label)
        if dropped:
            kinds = sorted({kind for kind, _ in dropped})
            rows = [[kind, sum(dropped[kind, lab] for lab in labels)]
                    + [dropped[kind, lab] for lab in labels] for kind in kinds]
            out.append("not written (reported, per label):")
            out.extend("  " + line for line in _table(["reason", "ents"] + labels, rows))
        counts = self.issue_counts()
        if counts:
            out.append("issues:")
            for (action, kind), n in sorted(counts.items()):
                out.append(f"  {action:<8} {kind:<22} {n:>6,}")
            shown = self.issues if max_issues is None else self.issues[:max_issues]
            out.append("details:")
            out.extend(f"  {item}" for item in shown)
            if len(shown) < len(self.issues):
                out.append(f"  ... {len(self.issues) - len(shown):,} more (use --issues-file)")
        else:
            out.append("issues: none")
        for label, n in self.unbalanced().items():
            out.append(f"warning: {label}: {n['read']:,} entities read but {n['written']:,} "
                       f"written and {n['dropped']:,} reported dropped")
        return "\n".join(out)

    def write_issues(self, path: PathLike) -> None:
        """All issues as TSV: action, kind, label, path, line, message, written
        atomically. A path that cannot be written is an :class:`InputError` naming it."""
        path = check_writable(path)
        try:
            with atomic_output(path) as f:
                f.write("action\tkind\tlabel\tpath\tline\tmessage\n")
                for i in self.issues:
                    f.write(f"{i.action}\t{i.kind}\t{i.label or ''}\t{i.path or ''}\t"
                            f"{i.line or ''}\t{i.message.replace(chr(9), ' ')}\n")
        except OSError as err:
            raise InputError(f"cannot write the issues file ({err.strerror or err})",
                             path) from None


def _table(header: List[str], rows: List[list]) -> List[str]:
    cells = [header] + [[f"{v:,}" if isinstance(v, int) else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def fmt(r: List[str]) -> str:
        return "  ".join(r[0].ljust(widths[0]) if i == 0 else v.rjust(widths[i])
                         for i, v in enumerate(r) if i < len(widths)).rstrip()

    return [fmt(cells[0]), fmt(["-" * w for w in widths])] + [fmt(r) for r in cells[1:]]


def write_docbin(docs: Iterable[Doc], path: PathLike, report: Optional[ConversionReport] = None,
                 split: Optional[str] = None) -> Path:
    """Write ``docs`` to a ``.spacy`` DocBin (:func:`spacy_rnn_ner.io.write_docbin`:
    atomically, with ``user_data``, which holds the source document name), creating parent
    folders, and count them in ``report`` under ``split`` (default: the file stem).
    Returns the path."""
    path = Path(path)
    if report is None:
        return io.write_docbin(docs, path)
    name = split or path.stem
    report.splits.setdefault(name, SplitStats())
    report.outputs[name] = str(path)

    def counted(docs: Iterable[Doc]) -> Iterator[Doc]:
        for doc in docs:
            report.add_doc(name, doc)
            yield doc

    return io.write_docbin(counted(docs), path)
