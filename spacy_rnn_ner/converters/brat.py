"""The ner-uk corpus (brat standoff) -> spaCy Docs / DocBin.

Two variants of every document, over the same annotation scheme
(``T<n>\\t<LABEL> <start> <end>\\t<surface>``):

* ``tok`` (default): ``NAME.tok.txt`` (one sentence per line, tokens separated by a
  space) + ``NAME.tok.ann``. A Doc per document with exactly the file's tokens, a
  sentence per non-empty line. ``doc.text`` is the file text with every line break
  and blank line replaced by one space (spaCy keeps a single trailing space per token;
  newline tokens would add tokens the corpus does not have).
* ``raw``: ``NAME.txt`` + ``NAME.ann`` tokenized by ``spacy.blank(lang)``;
  ``doc.text`` is the file text; sentences from spaCy's rule-based ``sentencizer``
  plus a sentence start after every line break.

Policies (every case is counted in the :class:`ConversionReport`, with file and line):

* Non-entity lines (``#`` notes, ``A``/``M`` attributes, ``R`` relations, ``E``
  events, ``N`` normalizations, ``*`` equivalences) carry no entity: *ignored*.
* A line that is none of these or cannot be parsed (fields, offsets that are not
  numbers of at most 9 digits 0-9, offsets outside the text, ``start >= end``), an entity
  id used twice in one file, or (when the corpus names its labels) an unknown label, is
  *malformed*: :class:`ConversionError`, or with ``skip_malformed`` *skipped*.
* A span crossing a line break has its surface written over several ``.ann`` lines by
  brat; the continuation lines are joined to it (*note*).
* Discontinuous spans (``s1 e1;s2 e2``): merged into ``s1..e_last`` when only whitespace
  separates the fragments (*adjusted*), else *dropped*.
* Surface text differing from the text at the offsets: the nearest exact occurrence of
  the surface within ``MAX_SHIFT`` characters is used (*adjusted*); if there is none the
  offsets are kept (*note*). Leading/trailing whitespace is trimmed (*adjusted*).
* ``tok``: an entity whose offsets are not token boundaries is *dropped*. ``raw``:
  ``doc.char_span(alignment_mode="strict")``, failing that ``"expand"`` (*adjusted*),
  failing that *dropped*.
* Overlapping or nested entities: the longest is kept, on equal length the one that
  starts first, then the one first in the file (``spacy.util.filter_spans``); the others
  are *dropped*. An exact duplicate is *dropped* as ``duplicate``.
* Documents: ``dev-test-split.txt`` lists names (``X.tok``) under ``DEV`` and ``TEST``.
  ``TEST`` -> ``test``; ``DEV`` -> ``train`` + ``dev`` by :func:`split_dev`. A listed
  document without its files is *skipped* (``missing document``), so is a document
  whose text has no tokens (``empty document``); files not listed in the split file are
  not read.
* Files are UTF-8; a byte-order mark is dropped (reported for text files, whose
  offsets it would shift); other bytes are an error naming the file and the offset.

Every entity read is written or reported as dropped (with its label).
"""
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Dict, List, Optional, Sequence, Tuple

import spacy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from ..io import has_bom
from ..io import read_text as _read_file
from .report import ConversionError, ConversionReport, PathLike, write_docbin

SPLIT_FILE = "dev-test-split.txt"
MAX_SHIFT = 5
_IGNORED_RE = re.compile(r"^(?:#\d*|[AMREN]\d+|\*)\t")  # brat ids of non-entity lines
_ENTITY_ID_RE = re.compile(r"^T\d+$")
SPLITS = ("train", "dev", "test")
#: the entity types of ner-uk 1.0 (another label is a malformed line, as in 2.0)
LABELS = ("LOC", "MISC", "ORG", "PERS")
MAX_OFFSET_DIGITS = 9  # offsets below 10^9 characters: int() never sees a huge number
_OFFSET = f"[0-9]{{1,{MAX_OFFSET_DIGITS}}}"
_OFFSETS_RE = re.compile(f"^{_OFFSET} {_OFFSET}(;{_OFFSET} {_OFFSET})*$")
# the shape of offsets, whatever the characters: "11² 15" is offsets, and bad ones
_OFFSETS_SHAPE_RE = re.compile(r"^\S+ \S+(;\S+ \S+)*$")


@dataclass
class BratEntity:
    """A text-bound annotation; ``start``/``end`` are character offsets after the
    fixes listed in the module docstring; ``line`` is its line in the ``.ann`` file."""

    id: str
    label: str
    start: int
    end: int
    surface: str
    line: int


def read_text(path: PathLike) -> str:
    """File text exactly as brat counts offsets: UTF-8 (a byte-order mark dropped), line
    ends not translated."""
    return _read_file(path, translate_newlines=False)


def read_doc_text(path: PathLike, report: ConversionReport) -> str:
    """:func:`read_text` of a document's text file; a byte-order mark is noted."""
    text = read_text(path)
    if has_bom(path):
        report.issue("note", "byte-order mark", "removed before counting offsets", path)
    return text


def _norm(text: str) -> str:
    return " ".join(text.split())


def _parse_entity_line(fields: List[str]) -> Optional[Tuple[str, str, str]]:
    """``(label, offsets, surface)`` of a ``T`` line in either layout (v1.0
    ``T1\tLABEL S E\tSURFACE``, v2.0 ``T1\tLABEL\tS\tE\tSURFACE``), else ``None``.
    The offsets are not checked to be numbers (:func:`parse_offsets`)."""
    if not _ENTITY_ID_RE.match(fields[0]):
        return None
    if len(fields) >= 3:
        head = fields[1].split(" ", 1)
        if len(head) == 2 and head[0] and _OFFSETS_SHAPE_RE.match(head[1]):
            return head[0], head[1], "\t".join(fields[2:])
    if len(fields) >= 5 and fields[1] and " " not in fields[1] \
            and _OFFSETS_SHAPE_RE.match(f"{fields[2]} {fields[3]}"):
        return fields[1], f"{fields[2]} {fields[3]}", "\t".join(fields[4:])
    return None


def parse_offsets(offsets: str) -> Optional[List[Tuple[int, int]]]:
    """``[(start, end), ...]`` of brat offsets ``"S E;S E"``, or ``None`` when one is not
    a number of at most :data:`MAX_OFFSET_DIGITS` digits 0-9 (``"11²"`` passes
    ``str.isdigit`` but not ``int``; 5,000 digits pass neither limit nor reason)."""
    if not _OFFSETS_RE.match(offsets):
        return None
    return [(int(s), int(e)) for s, e in (frag.split() for frag in offsets.split(";"))]


def empty_document(txt: Path, ann: Path, split: str, report: ConversionReport) -> bool:
    """Whether the text of a listed document has no tokens; such a document is reported
    as skipped (``empty document``), its ``.ann`` not read (both versions alike)."""
    if read_text(txt).strip():
        return False
    report.issue("skipped", "empty document", f"({split}) the text has no tokens; {ann.name} "
                 f"not read", txt)
    return True


def read_ann(path: PathLike, text: str, report: ConversionReport,
             skip_malformed: bool = False, strict_surface: bool = False,
             label_map: Optional[Dict[str, str]] = None,
             labels: Optional[Collection[str]] = None) -> List[BratEntity]:
    """Entities of a brat ``.ann`` file over ``text`` (policies: module docstring).
    Every ``T`` line is counted in ``report.read_ents``. ``strict_surface``: a surface
    text that does not match the offsets is malformed (v2.0) instead of being shifted or
    noted. ``label_map``: labels renamed (counted in ``report.relabelled``) or, mapped to
    ``""``, dropped (reported). ``labels``: the corpus's labels; another one is
    malformed."""
    path = Path(path)
    lines = read_text(path).split("\n")
    entities: List[BratEntity] = []
    seen_ids: Dict[str, int] = {}
    i = 0
    while i < len(lines):
        line_no, line = i + 1, lines[i].rstrip("\r")
        i += 1
        if not line.strip():
            continue
        fields = line.split("\t")
        if _IGNORED_RE.match(line):
            kind = fields[0].rstrip("0123456789")
            report.issue("ignored", f"brat {kind} line", f"not an entity: {line[:60]!r}",
                         path, line_no)
            continue
        parsed = _parse_entity_line(fields)
        if parsed is None:
            report.malformed(f"not a brat annotation line: {line[:80]!r}", path, line_no,
                             skip_malformed)
            continue
        label, offsets, surface = parsed
        fragments = parse_offsets(offsets)
        if fragments is None:
            shown = offsets if len(offsets) <= 40 else offsets[:40] + "..."
            report.malformed(f"offsets {shown!r} are not numbers (at most "
                             f"{MAX_OFFSET_DIGITS} digits 0-9 each)", path, line_no,
                             skip_malformed)
            continue
        if labels is not None and label not in labels:
            report.malformed(f"unknown label {label!r} (expected one of {', '.join(labels)})",
                             path, line_no, skip_malformed)
            continue
        if any(not 0 <= s < e <= len(text) for s, e in fragments):
            report.malformed(f"offsets {offsets} outside the text ({len(text)} characters) "
                             f"or empty", path, line_no, skip_malformed)
            continue
        if fields[0] in seen_ids:
            report.malformed(f"entity id {fields[0]} used again (first on line "
                             f"{seen_ids[fields[0]]})", path, line_no, skip_malformed)
            continue
        seen_ids[fields[0]] = line_no
        report.read_ents[label] += 1
        start, end = fragments[0][0], fragments[-1][1]
        where = (path, line_no)
        if len(fragments) > 1:
            gaps = [text[e:s] for (_, e), (s, _) in zip(fragments, fragments[1:])]
            if all(s >= e for (_, e), (s, _) in zip(fragments, fragments[1:])) \
                    and all(not g.strip() for g in gaps):
                report.issue("adjusted", "discontinuous merged",
                             f"{fields[0]} {label} {offsets} -> {start} {end}", *where)
            else:
                report.issue("dropped", "discontinuous",
                             f"{fields[0]} {label} {offsets} {surface!r}", *where, label=label)
                continue
        found = text[start:end]
        n_breaks = found.count("\n")
        if _norm(found) != _norm(surface) and n_breaks and i + n_breaks <= len(lines):
            joined = "\n".join([surface] + [x.rstrip("\r") for x in lines[i:i + n_breaks]])
            if _norm(joined) == _norm(found):
                report.issue("note", "multi-line surface",
                             f"{fields[0]}: surface continues on {n_breaks} more line(s)",
                             *where)
                i += n_breaks
                surface = joined
        if _norm(found) != _norm(surface) and strict_surface:
            message = (f"surface text {surface!r} does not match the text at {start}-{end} "
                       f"({found!r})")
            if not skip_malformed:
                raise ConversionError(message, path, line_no)
            report.issue("dropped", "surface mismatch", message, *where, label=label)
            continue
        if _norm(found) != _norm(surface):
            shift = _nearest_shift(text, start, end, surface)
            if shift is None:
                report.issue("note", "surface mismatch",
                             f"{fields[0]} {label} {start}-{end}: text {found!r} != surface "
                             f"{surface!r}; offsets kept", *where)
            else:
                report.issue("adjusted", "offsets shifted",
                             f"{fields[0]} {label} {start}-{end}: text {found!r} != surface "
                             f"{surface!r}; shifted by {shift:+d}", *where)
                start, end = start + shift, end + shift
        stripped = text[start:end]
        lead = len(stripped) - len(stripped.lstrip())
        trail = len(stripped) - len(stripped.rstrip())
        if lead or trail:
            if lead + trail >= end - start:
                report.issue("dropped", "empty span", f"{fields[0]} {label} covers only "
                             f"whitespace", *where, label=label)
                continue
            report.issue("adjusted", "whitespace trimmed",
                         f"{fields[0]} {label} {text[start:end]!r} -> "
                         f"{text[start + lead:end - trail]!r}", *where)
            start, end = start + lead, end - trail
        if label_map and label in label_map:
            new_label = label_map[label]
            if not new_label:
                report.issue("dropped", "label map", f"{fields[0]} {label} "
                             f"{text[start:end]!r}: label mapped to nothing", *where,
                             label=label)
                continue
            if new_label != label:
                report.relabelled[(label, new_label)] += 1
                label = new_label
        entities.append(BratEntity(fields[0], label, start, end, surface, line_no))
    return entities


def _nearest_shift(text: str, start: int, end: int, surface: str) -> Optional[int]:
    for shift in sorted(range(-MAX_SHIFT, MAX_SHIFT + 1), key=lambda d: (abs(d), d)):
        if shift and 0 <= start + shift and end + shift <= len(text) \
                and text[start + shift:end + shift] == surface:
            return shift
    return None


def select_layer(spans: Sequence[Span], layer: str = "outer") -> List[Span]:
    """Non-overlapping spans for ``doc.ents``. ``"outer"``: the longest first, on equal
    length the one that starts first, then the first given (``spacy.util.filter_spans``);
    ``"inner"``: the shortest first, same tie-breaks."""
    if layer == "outer":
        return filter_spans(spans)
    if layer != "inner":
        raise ValueError(f"layer must be 'outer' or 'inner', got {layer!r}")
    kept: List[Span] = []
    taken = set()
    for span in sorted(spans, key=lambda s: (len(s), s.start)):
        if not taken.intersection(range(span.start, span.end)):
            kept.append(span)
            taken.update(range(span.start, span.end))
    return kept


def set_entities(doc: Doc, spans: Sequence[Tuple[Span, BratEntity]], path: PathLike,
                 report: ConversionReport, layer: str = "outer",
                 spans_key: Optional[str] = None) -> Doc:
    """Set ``doc.ents`` from aligned spans, dropping duplicates and overlaps (kept:
    :func:`select_layer`) with a report line each. With ``spans_key``, every aligned
    span (nested and duplicate ones included) also goes to ``doc.spans[spans_key]`` and
    an entity nested in a kept one (or holding one) is reported as ``nested``."""
    unique: Dict[Tuple[int, int, str], Tuple[Span, BratEntity]] = {}
    for span, ent in spans:
        key = (span.start, span.end, span.label_)
        if key in unique:
            report.issue("dropped", "duplicate", f"{ent.id} {ent.label} {span.text!r} repeats "
                         f"{unique[key][1].id}", path, ent.line, label=ent.label)
        else:
            unique[key] = (span, ent)
    candidates = list(unique.values())
    kept = select_layer([span for span, _ in candidates], layer)
    kept_ids = {id(span) for span in kept}
    for span, ent in candidates:
        if id(span) not in kept_ids:
            other = next(k for k in kept if k.start < span.end and span.start < k.end)
            winner = next(e for s, e in candidates if s is other)
            nested = spans_key is not None and (other.start, other.end) != (span.start, span.end) \
                and (other.start <= span.start and span.end <= other.end
                     or span.start <= other.start and other.end <= span.end)
            kind = "nested" if nested else "overlap"
            where_kept = f"; in doc.spans[{spans_key!r}]" if spans_key is not None else ""
            report.issue("dropped", kind,
                         f"{ent.id} {ent.label} {span.text!r} overlaps {winner.id} "
                         f"{winner.label} {other.text!r} (kept){where_kept}", path, ent.line,
                         label=ent.label)
    for span, ent in candidates:
        if id(span) in kept_ids and any(t.is_sent_start for t in span[1:]):
            report.issue("note", "crosses sentence", f"{ent.id} {ent.label} {span.text!r}",
                         path, ent.line)
    doc.ents = sorted(kept, key=lambda s: s.start)
    if spans_key is not None:
        doc.spans[spans_key] = sorted((span for span, _ in spans),
                                      key=lambda s: (s.start, -s.end))
    return doc


def brat_tok_to_doc(txt_path: PathLike, ann_path: PathLike, vocab: Vocab,
                    report: Optional[ConversionReport] = None,
                    skip_malformed: bool = False, tokenizer: Optional[Tokenizer] = None,
                    layer: str = "outer", spans_key: Optional[str] = None,
                    label_map: Optional[Dict[str, str]] = None,
                    strict_surface: bool = False, join_sentences: bool = False,
                    labels: Optional[Collection[str]] = None) -> Doc:
    """A Doc from a tokenized ``.tok.txt`` + ``.tok.ann`` pair: the file's tokens, a
    sentence per non-empty line, entities on token boundaries. With ``tokenizer``
    (v2.0, whose text leaves some punctuation attached), each line is split further by
    it and an entity off token boundaries is expanded to the tokens it touches
    (reported). ``join_sentences``: an entity crossing a line break keeps its lines in
    one sentence (reported) instead of crossing a sentence start. ``layer``,
    ``spans_key``: :func:`set_entities`; ``label_map``, ``strict_surface``, ``labels``:
    :func:`read_ann`."""
    report = report if report is not None else ConversionReport()
    txt_path = Path(txt_path)
    text = read_doc_text(txt_path, report)
    words: List[str] = []
    spaces: List[bool] = []
    sent_starts: List[bool] = []
    bounds: List[Tuple[int, int]] = []
    offset = 0
    parts = re.split(r"(\r\n|\r|\n)", text)  # a CR alone ends a line too (old Mac files)
    for line, end in zip(parts[::2], parts[1::2] + [""]):
        first = True
        if tokenizer is None:
            pieces = [(m.group(), m.start(), True) for m in re.finditer(r"\S+", line)]
        else:
            pieces = [(t.text, t.idx, bool(t.whitespace_)) for t in tokenizer(line)
                      if not t.is_space]
        for word, idx, space in pieces:
            bounds.append((offset + idx, offset + idx + len(word)))
            words.append(word)
            spaces.append(space)
            sent_starts.append(first)
            first = False
        if not first:
            report.read_sents += 1
            spaces[-1] = True
        offset += len(line) + len(end)
    if words:
        spaces[-1] = False
    report.read_docs += 1
    report.read_tokens += len(words)
    starts = {s: i for i, (s, _) in enumerate(bounds)}
    ends = {e: i for i, (_, e) in enumerate(bounds)}
    aligned: List[Tuple[int, int, BratEntity]] = []
    for ent in read_ann(ann_path, text, report, skip_malformed, strict_surface, label_map,
                        labels):
        i, j = starts.get(ent.start), ends.get(ent.end)
        if (i is None or j is None) and tokenizer is not None:
            touched = [k for k, (s, e) in enumerate(bounds) if s < ent.end and ent.start < e]
            if touched:
                i, j = touched[0], touched[-1]
                report.issue("adjusted", "expanded to tokens",
                             f"{ent.id} {ent.label} {text[ent.start:ent.end]!r} -> "
                             f"{text[bounds[i][0]:bounds[j][1]]!r}", ann_path, ent.line)
        if i is None or j is None or j < i:
            report.issue("dropped", "off token boundaries",
                         f"{ent.id} {ent.label} {ent.start}-{ent.end} "
                         f"{text[ent.start:ent.end]!r} in {_context(text, ent)!r}",
                         ann_path, ent.line, label=ent.label)
            continue
        aligned.append((i, j, ent))
        if join_sentences and any(sent_starts[i + 1:j + 1]):
            n_joined = sum(sent_starts[i + 1:j + 1])
            sent_starts[i + 1:j + 1] = [False] * (j - i)
            report.read_sents -= n_joined
            report.issue("note", "sentences joined", f"{ent.id} {ent.label} "
                         f"{text[bounds[i][0]:bounds[j][1]]!r} crosses a line break: no "
                         f"sentence starts inside it", ann_path, ent.line)
    doc = Doc(vocab, words=words, spaces=spaces, sent_starts=sent_starts or None)
    doc.user_data["name"] = txt_path.name[: -len(".tok.txt")] \
        if txt_path.name.endswith(".tok.txt") else txt_path.stem
    spans = [(Span(doc, i, j + 1, label=ent.label), ent) for i, j, ent in aligned]
    return set_entities(doc, spans, ann_path, report, layer, spans_key)


def _context(text: str, ent: BratEntity, width: int = 15) -> str:
    return text[max(0, ent.start - width):ent.end + width]


def make_raw_nlp(lang: str = "uk") -> Language:
    """``spacy.blank(lang)`` with the rule-based ``sentencizer`` (no extra packages)."""
    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    return nlp


def brat_raw_to_doc(txt_path: PathLike, ann_path: PathLike, nlp: Language,
                    report: Optional[ConversionReport] = None,
                    skip_malformed: bool = False,
                    labels: Optional[Collection[str]] = None) -> Doc:
    """A Doc from an untokenized ``.txt`` + ``.ann`` pair tokenized by ``nlp`` (see
    :func:`make_raw_nlp`); entities aligned strictly, else expanded (reported).
    ``labels``: as for :func:`read_ann`."""
    report = report if report is not None else ConversionReport()
    txt_path = Path(txt_path)
    text = read_doc_text(txt_path, report)
    doc = _start_sentences_after_newlines(nlp(text))
    doc.user_data["name"] = txt_path.stem
    report.read_docs += 1
    report.read_tokens += len(doc)
    report.read_sents += sum(1 for t in doc if t.is_sent_start)
    spans = []
    for ent in read_ann(ann_path, text, report, skip_malformed, labels=labels):
        span = doc.char_span(ent.start, ent.end, label=ent.label, alignment_mode="strict")
        if span is None:
            span = doc.char_span(ent.start, ent.end, label=ent.label, alignment_mode="expand")
            if span is None:
                report.issue("dropped", "misaligned",
                             f"{ent.id} {ent.label} {text[ent.start:ent.end]!r} matches no "
                             f"tokens", ann_path, ent.line, label=ent.label)
                continue
            report.issue("adjusted", "expanded to tokens",
                         f"{ent.id} {ent.label} {text[ent.start:ent.end]!r} -> {span.text!r}",
                         ann_path, ent.line)
        spans.append((span, ent))
    return set_entities(doc, spans, ann_path, report)


def _start_sentences_after_newlines(doc: Doc) -> Doc:
    """A sentence starts after each line break too; whitespace tokens never start one
    (they stay at the end of the sentence before)."""
    starts = doc.to_array([SENT_START]).view("int64")  # 1 start, -1 not, 0 unset
    pending = False
    for i in range(1, len(doc)):
        start = starts[i] == 1 or pending or "\n" in doc[i - 1].text_with_ws
        is_space = doc[i].is_space
        pending = start and is_space
        starts[i] = 1 if start and not is_space else -1
    if len(doc):
        starts[0] = 1
    doc.from_array([SENT_START], starts.view("uint64"))
    return doc


# -- corpus level ------------------------------------------------------------------

def find_ner_uk_dir(path: PathLike) -> Path:
    """The folder holding ``dev-test-split.txt`` and ``data/``: ``path`` itself or
    ``path/v1.0``. Raises :class:`FileNotFoundError` naming the path."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such folder: {path}")
    for candidate in (path, path / "v1.0"):
        if (candidate / SPLIT_FILE).is_file() and (candidate / "data").is_dir():
            return candidate
    raise FileNotFoundError(f"{path}: neither it nor {path / 'v1.0'} holds {SPLIT_FILE} "
                            f"and data/")


def read_split_file(path: PathLike,
                    line_numbers: Optional[Dict[str, int]] = None) -> Dict[str, List[str]]:
    """``{"DEV": [...], "TEST": [...]}`` from a split file: section headers on their own
    line, then one document name per line (a ``.tok`` suffix and a leading ``./`` are
    removed). A name before any header, listed twice (also spelt otherwise: ``./NAME.tok``
    and ``NAME``) or holding a path (``/``, ``\\``, ``..``: the readers join it to the data
    folder) is a :class:`ConversionError` naming its line. ``line_numbers``, when
    given, is filled with each name's line."""
    path = Path(path)
    sections: Dict[str, List[str]] = {}
    seen: Dict[str, int] = line_numbers if line_numbers is not None else {}
    current: Optional[str] = None
    for line_no, line in enumerate(_read_file(path).split("\n"), start=1):
        name = line.strip()
        if not name:
            continue
        if name.upper() in ("DEV", "TEST", "TRAIN"):
            current = name.upper()
            sections.setdefault(current, [])
            continue
        if current is None:
            raise ConversionError(f"document {name!r} before any DEV/TEST header", path, line_no)
        given = name
        while name.startswith("./"):  # the same file, spelt as a path
            name = name[2:].lstrip("/")
        if name.endswith(".tok"):
            name = name[: -len(".tok")]
        if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
            raise ConversionError(f"{given!r} is not a document name (a file name in the data "
                                  "folder, without '/', '\\' or '..')", path, line_no)
        if name in seen:
            first = next((section for section, names in sections.items() if name in names), "?")
            raise ConversionError(f"{given!r} listed twice (first on line {seen[name]}, under "
                                  f"{first}): a document belongs to one split", path, line_no)
        seen[name] = line_no
        sections[current].append(name)
    return sections


def report_unsplit(sections: Dict[str, List[str]], split_path: Path, data: Path,
                   suffix: Tuple[str, str], report: ConversionReport) -> None:
    """Report what the split file leaves out: an empty TEST (or DEV/TRAIN) section, and
    each document of ``data`` (a ``suffix`` pair of files) it does not list (not read)."""
    if not sections.get("TEST"):
        report.issue("note", "empty split", "no TEST documents listed: test.spacy is empty",
                     split_path)
    if not sections.get("DEV") and not sections.get("TRAIN"):
        report.issue("note", "empty split", "no DEV (or TRAIN) documents listed: train.spacy "
                     "and dev.spacy are empty", split_path)
    listed = {name for names in sections.values() for name in names}
    for txt in sorted(data.glob(f"*{suffix[0]}")):
        name = txt.name[: -len(suffix[0])]
        if suffix[0] == ".txt" and name.endswith(".tok"):
            continue  # the tok variant's file, beside the raw one
        if name not in listed and (data / (name + suffix[1])).is_file():
            report.issue("skipped", "not in split file", f"not listed in {split_path.name}: "
                         "not read", data / name)


def split_dev(names: Sequence[str], dev_fraction: float = 0.1,
              seed: int = 0) -> Tuple[List[str], List[str]]:
    """``(train, dev)``: a document-level hold-out of the DEV names. The sorted names are
    shuffled with ``random.Random(seed)``; the first ``round(dev_fraction * n)`` (at
    least 1 when ``dev_fraction > 0`` and ``n >= 2``, at most ``n - 1``) go to dev. Both
    lists keep the order of ``names``; the result does not depend on that order."""
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), got {dev_fraction}")
    n = len(names)
    n_dev = 0 if dev_fraction == 0 or n < 2 else min(n - 1, max(1, round(dev_fraction * n)))
    shuffled = sorted(set(names))
    random.Random(seed).shuffle(shuffled)
    dev = set(shuffled[:n_dev])
    return [x for x in names if x not in dev], [x for x in names if x in dev]


def load_ner_uk_v1(path: PathLike, variant: str, dev_fraction: float, seed: int,
                    max_docs: Optional[int], lang: str, skip_malformed: bool,
                    report: ConversionReport,
                    split_file: Optional[PathLike]) -> Dict[str, List[Doc]]:
    """``{"train": [...], "dev": [...], "test": [...]}`` Docs of ner-uk 1.0 at ``path``
    (the folder with ``v1.0/`` or ``v1.0`` itself); see :func:`.ner_uk.load_ner_uk`."""
    if variant not in ("tok", "raw"):
        raise ValueError(f"variant must be 'tok' or 'raw', got {variant!r}")
    root = find_ner_uk_dir(path)
    split_path = Path(split_file) if split_file is not None else root / SPLIT_FILE
    if not split_path.is_file():
        raise FileNotFoundError(f"no such file: {split_path}")
    sections = read_split_file(split_path)
    train, dev = split_dev(sections.get("DEV", []) + sections.get("TRAIN", []),
                           dev_fraction, seed)
    names = {"train": train, "dev": dev, "test": sections.get("TEST", [])}
    nlp = make_raw_nlp(lang) if variant == "raw" else spacy.blank(lang)
    suffix = (".tok.txt", ".tok.ann") if variant == "tok" else (".txt", ".ann")
    report_unsplit(sections, split_path, root / "data", suffix, report)
    out: Dict[str, List[Doc]] = {}
    for split in SPLITS:
        docs = out[split] = []
        for name in names[split][:max_docs]:
            txt, ann = (root / "data" / (name + s) for s in suffix)
            missing = [s for s, p in zip(suffix, (txt, ann)) if not p.is_file()]
            if missing:
                report.issue("skipped", "missing document",
                             f"({split}) no {' or '.join(missing)} file", root / "data" / name)
                continue
            if empty_document(txt, ann, split, report):
                continue
            if variant == "tok":
                docs.append(brat_tok_to_doc(txt, ann, nlp.vocab, report, skip_malformed,
                                            labels=LABELS))
            else:
                docs.append(brat_raw_to_doc(txt, ann, nlp, report, skip_malformed, LABELS))
    if not any(out.values()):
        raise ConversionError(f"no documents found ({variant} variant)", root / "data")
    return out
