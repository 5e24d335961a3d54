"""Annotate files with a trained pipeline, streaming: read documents lazily, run
``nlp.pipe``, write JSONL, DocBin or Parquet atomically, and count what was done.

Inputs (by path): a directory of ``.txt`` files (one document per file), ``.jsonl``
(``{"text": ...}`` per line, other keys kept as metadata; ``.json`` too when its first
line is such an object, else it is refused), ``.spacy`` (DocBin; its tokenization,
sentence boundaries and ``user_data`` are kept, its entities come back as
``input_entities``), ``.parquet`` (a ``text`` column, other columns kept), anything
else: text, one document per line. An input that holds no document is an error.
Outputs (by extension): ``.jsonl`` (metadata + ``text`` + ``entities`` with character
offsets, label and confidence), ``.spacy`` (DocBin; the metadata in ``user_data``) or
``.parquet``. What a user gave comes back: metadata, a DocBin's ``user_data`` (entries
with non-string keys, extension attributes, only in a ``.spacy`` output: reported), its
``doc.cats`` and span groups (only in a ``.spacy`` output: reported).
"""
import codecs
import dataclasses
import io
import json
import math
import os
import signal
import sys
import time
import warnings
from contextlib import contextmanager
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span, SpanGroup
from spacy.vocab import Vocab
from ..errors import InputError, import_optional
from ..outputs import INTERRUPT_SIGNALS
from ..file_kinds import ANNOTATE_COLUMNS, ANNOTATE_DOC_KEY, ANNOTATE_DOCBIN, ANNOTATE_JSONL, ANNOTATE_PARQUET
from ..io import (AtomicFile, OutputFile, check_exists, check_outputs, decode_text, describe_decode_error, docbin_from_bytes,
                  files_with_suffix, parse_json_line)

OUTPUT_SUFFIXES = (".jsonl", ".spacy", ".parquet")
PARQUET_ROWS = 1000  # rows per Parquet row group (memory bound of the writer)
INPUT_ENTITIES = "input_entities"  # where an input's own "entities" field is kept



#: bad input (``file:line: reason``) or an unsupported path (the name stays for callers;
#: one class, :class:`~spacy_rnn_ner.errors.InputError`)
AnnotateError = InputError


@dataclass
class Record:
    """One input document, or one bad input line (``error`` set)."""

    where: str
    text: Optional[str] = None
    words: Optional[List[str]] = None
    spaces: Optional[List[bool]] = None
    sent_starts: Optional[List[Optional[bool]]] = None
    meta: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    #: a DocBin document's ``user_data`` entries whose keys are not strings (extension
    #: attributes: tuple keys, here lists, so that the record stays JSON)
    extensions: List[Tuple[Any, Any]] = field(default_factory=list)
    #: a DocBin document's ``doc.cats`` and span groups (``{"name", "attrs", "spans":
    #: [[start, end, label, kb_id], ...]}``, token offsets): kept in a ``.spacy`` output
    cats: Dict[str, float] = field(default_factory=dict)
    span_groups: List[Dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, text: str) -> "Record":
        return cls(**json.loads(text))

    def light(self) -> "Record":
        """Without the token lists, extension values, cats and span groups (they travel
        in the Doc)."""
        return dataclasses.replace(self, words=None, spaces=None, sent_starts=None,
                                   extensions=[], cats={}, span_groups=[])

    def user_data(self) -> Dict[Any, Any]:
        """The Doc's ``user_data``: the metadata and the extension values."""
        return {**self.meta, **{tuple(k) if isinstance(k, list) else k: v
                                for k, v in self.extensions}}


@dataclass
class Summary:
    """What an annotation run did."""

    documents: int = 0
    tokens: int = 0
    words: int = 0
    entities: Counter = field(default_factory=Counter)
    skipped: int = 0
    blank_lines: int = 0
    seconds: float = 0.0

    def add(self, n_tokens: int, n_words: int, labels: Iterable[str]) -> None:
        self.documents += 1
        self.tokens += n_tokens
        self.words += n_words
        self.entities.update(labels)

    def rows(self) -> List[Tuple[str, str]]:
        seconds = max(self.seconds, 1e-9)
        rows = [
            ("documents", str(self.documents)),
            ("tokens", str(self.tokens)),
            ("entities", str(sum(self.entities.values()))),
        ]
        rows += [(f"  {label}", str(n)) for label, n in sorted(self.entities.items())]
        rows += [
            ("bad lines skipped", str(self.skipped)),
            ("seconds", f"{self.seconds:.1f}"),
            ("documents/s", f"{self.documents / seconds:.1f}"),
            ("words/s", f"{self.words / seconds:.0f}"),
        ]
        if self.blank_lines:
            rows.insert(3 + len(self.entities), ("blank JSONL lines", str(self.blank_lines)))
        return rows


# ---------------------------------------------------------------- reading


#: suffixes of tables that are not read (annotate reads JSON lines and Parquet tables)
TABLE_SUFFIXES = {".csv": "CSV", ".tsv": "TSV"}


def input_kind(path: Union[str, Path]) -> str:
    """``dir``, ``jsonl``, ``docbin``, ``parquet`` or ``text``. A ``.json`` file is JSON
    lines when its first non-blank line is a JSON object (:func:`check_json_lines`)."""
    path = Path(path)
    if path.is_dir():
        return "dir"
    suffix = path.suffix.lower()
    if suffix == ".json":
        return check_json_lines(path)
    if suffix in TABLE_SUFFIXES:
        raise AnnotateError(f"{path}: a {TABLE_SUFFIXES[suffix]} table is not read as one (plain "
                            "text would make its header a document and keep its quoting); give JSON "
                            "lines with a 'text' field or Parquet with a 'text' column, or rename it "
                            "to .txt to annotate each line as text")
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".spacy": "docbin", ".parquet": "parquet"}.get(suffix, "text")


def check_json_lines(path: Path) -> str:
    """``"jsonl"`` for a ``.json`` file whose first non-blank line is a JSON object (JSON
    lines under another name); anything else (one JSON document over several lines, an
    array) is an :class:`AnnotateError` naming the file and the fix, never plain text."""
    if not path.is_file():
        return "jsonl"  # input_files reports it
    with open(path, "rb") as fh:
        for lineno, raw in _lines(fh):
            if not raw.strip():
                continue
            try:
                parse_json_line(raw)
                return "jsonl"
            except InputError as err:
                raise AnnotateError(
                    f"{path}:{lineno}: a .json input is read as JSON lines (one "
                    f'{{"text": ...}} object per line), but this line is not one '
                    f"({err.message}); write one object per line, or rename the file "
                    f"to .txt to annotate it as plain text") from None
    return "jsonl"


def input_files(path: Union[str, Path]) -> List[Path]:
    """The files behind ``path``: itself, or a directory's ``*.txt`` files (sorted, recursive)."""
    path = Path(path)
    if not path.exists():
        raise AnnotateError(f"{path}: no such file or directory")
    if path.is_dir():
        files = files_with_suffix(path, (".txt",))
        if not files:
            raise AnnotateError(f"{path}: directory holds no .txt files")
        return files
    return [check_exists(path, "file")]  # a pipe or device is named as such


def _lines(fh: BinaryIO) -> Iterator[Tuple[int, bytes]]:
    """Numbered lines without their line end; a UTF-8 byte-order mark is dropped (a file
    of a byte-order mark alone has no line, as an empty file)."""
    for lineno, raw in enumerate(fh, start=1):
        if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
            if not raw:
                return
        yield lineno, raw.rstrip(b"\n").rstrip(b"\r")


def read_text_lines(fh: BinaryIO, name: str) -> Iterator[Record]:
    """One document per line (empty lines are empty documents, so lines stay aligned)."""
    for lineno, raw in _lines(fh):
        where = f"{name}:{lineno}"
        try:
            yield Record(where, text=decode_text(raw))
        except UnicodeDecodeError as err:
            yield Record(where, error=describe_decode_error(err))


def parse_jsonl_line(raw: bytes, where: str) -> Record:
    """A ``{"text": ...}`` object; every other key is kept as metadata."""
    try:
        obj = parse_json_line(raw)
    except InputError as err:
        return Record(where, error=err.message)
    text = obj.pop("text", None)
    if not isinstance(text, str):
        return Record(where, error='no string "text" field')
    if b"\\ud" in raw.lower():  # an escaped surrogate: only a pair is a character
        problem = unencodable(text, obj)
        if problem:
            return Record(where, error=problem)
    return checked_meta(Record(where, text=text, meta=obj))


def unencodable(text: str, meta: Dict[str, Any]) -> Optional[str]:
    """Why ``text`` or ``meta`` cannot be written as UTF-8 (a lone surrogate such as
    ``"\\ud800"`` in the JSON), or ``None``."""
    for name, value in (("text", text), ("metadata", json.dumps(meta, ensure_ascii=False))):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            return (f"the {name} holds a lone surrogate U+{ord(value[err.start]):04X} "
                    f"(at character {err.start}), not a character")
    return None


def non_finite(value: Any, key: str = "") -> Optional[str]:
    """``'KEY' is nan`` for the first NaN or infinite number in ``value`` (nested keys
    joined by ``.``), which JSON cannot hold (a JSON line's ``NaN``, or ``1e400`` read as
    infinity), or ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{key!r} is {value}"
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, (list, tuple)) else ()
    for name, item in items:
        found = non_finite(item, f"{key}.{name}" if key else str(name))
        if found:
            return found
    return None


def checked_meta(record: Record) -> Record:
    """The record with an input ``entities`` field kept as ``input_entities`` (the output's
    ``entities`` are the predictions); an input holding both is an error, and so is a NaN
    or infinite number in the metadata (the JSON output could not hold it)."""
    problem = non_finite(record.meta)
    if problem:
        return Record(record.where, error=f"{problem}: not a JSON number (NaN, Infinity or "
                                          "beyond a double); write null or a finite number")
    if "entities" in record.meta:
        if INPUT_ENTITIES in record.meta:
            return Record(record.where, error=f'has both "entities" and "{INPUT_ENTITIES}" '
                          f'fields; the output keeps the input\'s "entities" as '
                          f'"{INPUT_ENTITIES}"')
        record.meta = {(INPUT_ENTITIES if k == "entities" else k): v
                       for k, v in record.meta.items()}
    return record


def read_jsonl_records(fh: BinaryIO, name: str) -> Iterator[Record]:
    """Blank lines are not documents: they yield a ``Record`` with neither text nor error."""
    for lineno, raw in _lines(fh):
        if not raw.strip():
            yield Record(f"{name}:{lineno}")
            continue
        yield parse_jsonl_line(raw, f"{name}:{lineno}")


def read_txt_file(data: bytes, name: str, relative: str) -> Record:
    """A whole ``.txt`` file as one document (``meta["file"]``: its path in the directory);
    a UTF-8 byte-order mark is dropped."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return Record(name, text=decode_text(data), meta={"file": relative})
    except UnicodeDecodeError as err:
        return Record(name, error=describe_decode_error(err))


def read_docbin_records(fh: BinaryIO, name: str) -> Iterator[Record]:
    """The DocBin's documents (the format is one blob: it is read whole), tokenization,
    sentence starts and ``user_data`` kept (string keys as metadata, the others as
    extension values); their entities (of a document with NER annotation) come back as
    ``input_entities``, as a JSON line's ``entities`` do (in ``doc.ents`` they would mix
    with the predictions)."""
    docbin = docbin_from_bytes(fh.read(), name)
    for i, doc in enumerate(docbin.get_docs(Vocab())):
        sent_starts = [t.is_sent_start for t in doc] if doc.has_annotation("SENT_START") else None
        meta = {k: v for k, v in doc.user_data.items() if isinstance(k, str) and k != ANNOTATE_DOC_KEY}
        if doc.has_annotation("ENT_IOB"):
            if "entities" in meta or INPUT_ENTITIES in meta:
                yield Record(f"{name}#{i}", error=f'the document has entities and its user_data '
                             f'an "entities" or "{INPUT_ENTITIES}" entry; the output keeps the '
                             f'entities as "{INPUT_ENTITIES}"')
                continue
            meta[INPUT_ENTITIES] = [{"start": e.start_char, "end": e.end_char, "label": e.label_,
                                     "text": e.text} for e in doc.ents]
        extensions = [(list(k) if isinstance(k, tuple) else k, v)
                      for k, v in doc.user_data.items() if not isinstance(k, str)]
        span_groups = [{"name": key, "attrs": dict(group.attrs),
                        "spans": [[span.start, span.end, span.label_, span.kb_id_] for span in group]}
                       for key, group in doc.spans.items()]
        yield checked_meta(Record(f"{name}#{i}", words=[t.text for t in doc],
                                  spaces=[bool(t.whitespace_) for t in doc],
                                  sent_starts=sent_starts, meta=meta, extensions=extensions,
                                  cats=dict(doc.cats), span_groups=span_groups))


def read_parquet(fh: BinaryIO, name: str) -> Iterator[Record]:
    """Rows of a ``text`` column; other columns are kept as metadata. In annotate's own
    Parquet output (columns ``text``, ``entities``, ``meta``) the ``meta`` column (the
    metadata as a JSON object) is unpacked: what the first input held comes back as it was
    written (``"id": 7``, not ``"meta": "{\\"id\\": 7}"``), as for JSONL and DocBin."""
    pq = import_parquet()

    try:
        parquet = pq.ParquetFile(fh)
    except Exception as err:
        raise AnnotateError(f"{name}: not a Parquet file ({err})") from err
    if "text" not in parquet.schema_arrow.names:
        raise AnnotateError(f"{name}: no 'text' column (columns: {', '.join(parquet.schema_arrow.names)})")
    own = parquet.schema_arrow.names == list(ANNOTATE_COLUMNS)
    row = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for obj in batch.to_pylist():
            row += 1
            text = obj.pop("text")
            if own:
                try:
                    meta = json.loads(obj["meta"]) if isinstance(obj["meta"], str) else None
                except (ValueError, RecursionError):
                    meta = None
                if not isinstance(meta, dict):
                    yield Record(f"{name}:row {row}", error="'meta' is not a JSON object (the "
                                 "metadata column of annotate's Parquet output)")
                    continue
                del obj["meta"]
                obj.update(meta)
            if isinstance(text, str):
                yield checked_meta(Record(f"{name}:row {row}", text=text, meta=obj))
            else:
                yield Record(f"{name}:row {row}", error="'text' is not a string")


def read_stream(kind: str, fh: BinaryIO, name: str) -> Iterator[Record]:
    """Records of one file-like object of ``kind`` (not ``dir``)."""
    readers = {"text": read_text_lines, "jsonl": read_jsonl_records, "docbin": read_docbin_records, "parquet": read_parquet}
    return readers[kind](fh, name)


def read_records(path: Union[str, Path]) -> Iterator[Record]:
    """All records of ``path``, lazily (line by line; DocBin whole)."""
    kind = input_kind(path)
    for file in input_files(path):
        if kind == "dir":
            yield read_txt_file(file.read_bytes(), str(file), file.relative_to(path).as_posix())
        else:
            with open(file, "rb") as fh:
                yield from read_stream(kind, fh, str(file))


def screen(records: Iterable[Record], summary: Summary, skip_bad_lines: bool,
           report: Callable[[str], None], max_length: Optional[int] = None) -> Iterator[Record]:
    """Good records; a bad one is reported and skipped, or raises (``--skip-bad-lines``);
    blank JSONL lines are counted. A text longer than ``max_length`` characters (the
    pipeline's ``nlp.max_length``) is a bad record."""
    for record in records:
        if max_length and record.text is not None and len(record.text) > max_length:
            record.error = (f"text of {len(record.text):,} characters is longer than the "
                            f"pipeline's nlp.max_length ({max_length:,})")
        if record.error:
            if not skip_bad_lines:
                raise AnnotateError(f"{record.where}: {record.error} (--skip-bad-lines skips such lines)")
            summary.skipped += 1
            report(f"{record.where}: {record.error} (skipped)")
        elif record.text is None and record.words is None:
            summary.blank_lines += 1
        else:
            yield record


def to_input(record: Record, vocab: Vocab) -> Union[str, Doc]:
    """Text, or a Doc with the record's tokens, sentence starts, ``user_data``, cats
    and span groups."""
    if record.words is None:
        return record.text
    doc = Doc(vocab, words=record.words, spaces=record.spaces, sent_starts=record.sent_starts)
    doc.user_data.update(record.user_data())
    doc.cats.update(record.cats)
    for group in record.span_groups:
        doc.spans[group["name"]] = SpanGroup(
            doc, name=group["name"], attrs=group["attrs"],
            spans=[Span(doc, start, end, label=label, kb_id=kb_id) for start, end, label, kb_id in group["spans"]])
    return doc


# ---------------------------------------------------------------- annotating


def find_spans_key(nlp: Language) -> Optional[str]:
    """``spans_key`` of the first component that has one (``rnn_ner`` writes scores there)."""
    for _, pipe in nlp.pipeline:
        key = getattr(pipe, "spans_key", None)
        if key:
            return key
    return None


def doc_entities(doc: Doc, spans_key: Optional[str]) -> List[Dict[str, Any]]:
    """``doc.ents`` with character offsets and the confidence of the scored span group
    (``None`` for an entity the group does not hold)."""
    scores: Dict[Tuple[int, int, str], float] = {}
    if spans_key and spans_key in doc.spans:
        group = doc.spans[spans_key]
        values = group.attrs.get("scores", [])
        scores = {(span.start, span.end, span.label_): float(v) for span, v in zip(group, values)}
    entities = []
    for ent in doc.ents:
        score = scores.get((ent.start, ent.end, ent.label_))
        entities.append({
            "start": ent.start_char,
            "end": ent.end_char,
            "label": ent.label_,
            "text": ent.text,
            "confidence": None if score is None else round(score, 4),
        })
    return entities


def output_record(doc: Doc, record: Record, spans_key: Optional[str]) -> Dict[str, Any]:
    """The input's metadata, ``text`` and ``entities``."""
    return {**record.meta, "text": doc.text, "entities": doc_entities(doc, spans_key)}


def doc_counts(doc: Doc) -> Tuple[int, int]:
    """(tokens, words): words are the non-space tokens."""
    return len(doc), sum(1 for t in doc if not t.is_space)


def pipe_records(nlp: Language, records: Iterable[Record], batch_size: int = 64,
                 n_process: int = 1) -> Iterator[Tuple[Doc, Record]]:
    """``nlp.pipe`` over good records, in order, each Doc with its record."""
    vocab = nlp.vocab
    pairs = ((to_input(record, vocab), record.light()) for record in records)
    return nlp.pipe(pairs, as_tuples=True, batch_size=batch_size, n_process=n_process)


# ---------------------------------------------------------------- writing


def metadata(out: Dict[str, Any]) -> Dict[str, Any]:
    """The metadata of an output record: all but ``text`` and ``entities``."""
    return {k: v for k, v in out.items() if k not in ("text", "entities")}


class JsonlSink:
    def __init__(self, path: Path):
        self.file = AtomicFile(path, "w", create_folder=True)

    def write(self, doc: Optional[Doc], out: Dict[str, Any]) -> None:
        self.file.fh.write(json.dumps(out, ensure_ascii=False, default=str) + "\n")

    def commit(self) -> None:
        self.file.commit()

    def abort(self) -> None:
        self.file.abort()


class DocBinSink:
    """Docs with their entities, the scored span group and ``user_data`` (an input
    DocBin's, and the metadata of other inputs), and the marker
    :data:`~spacy_rnn_ner.file_kinds.ANNOTATE_DOC_KEY` (a rerun may replace the file, a
    user's DocBin is refused). A DocBin is one blob: its serialized docs stay in memory
    until ``commit`` (use JSONL/Parquet for huge corpora)."""

    def __init__(self, path: Path):
        self.path = path
        self.docbin = DocBin(store_user_data=True)

    def write(self, doc: Optional[Doc], out: Dict[str, Any]) -> None:
        doc.user_data.update(metadata(out))
        doc.user_data[ANNOTATE_DOC_KEY] = True
        self.docbin.add(doc)

    def commit(self) -> None:
        file = AtomicFile(self.path, create_folder=True)
        try:
            file.fh.write(self.docbin.to_bytes())
            file.commit()
        except BaseException:
            file.abort()
            raise

    def abort(self) -> None:
        self.docbin = DocBin()


def import_parquet():
    """``pyarrow.parquet``, or :class:`~spacy_rnn_ner.errors.MissingDependency`."""
    return import_optional("pyarrow.parquet", "parquet", "reading and writing Parquet", "pyarrow")


def parquet_schema():
    import pyarrow as pa

    entity = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()),
                        ("text", pa.string()), ("confidence", pa.float64())])
    return pa.schema([("text", pa.string()), ("entities", pa.list_(entity)), ("meta", pa.string())])


class ParquetSink:
    """Columns ``text``, ``entities`` (list of structs) and ``meta`` (the metadata as JSON);
    row groups of ``PARQUET_ROWS`` rows."""

    def __init__(self, path: Path):
        pq = import_parquet()
        self.file = AtomicFile(path, create_folder=True)
        self.schema = parquet_schema()
        self.writer = pq.ParquetWriter(self.file.fh, self.schema)
        self.rows: List[Dict[str, Any]] = []

    def write(self, doc: Optional[Doc], out: Dict[str, Any]) -> None:
        self.rows.append({"text": out["text"], "entities": out["entities"],
                          "meta": json.dumps(metadata(out), ensure_ascii=False, default=str)})
        if len(self.rows) >= PARQUET_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def commit(self) -> None:
        self._flush()
        self.writer.close()
        self.file.commit()

    def abort(self) -> None:
        try:
            self.writer.close()  # before its file: closing it later writes to a closed file
        except Exception:
            pass
        self.file.abort()


SINKS = {".jsonl": JsonlSink, ".spacy": DocBinSink, ".parquet": ParquetSink}
#: what each sink writes (an existing file there must hold the same, or be empty)
OUTPUT_KINDS = {".jsonl": ANNOTATE_JSONL, ".spacy": ANNOTATE_DOCBIN, ".parquet": ANNOTATE_PARQUET}


def check_paths(input_path: Union[str, Path], output_path: Union[str, Path],
                model: Optional[Union[str, Path]] = None) -> str:
    """Check before any work (before the model loads): the input exists (and a ``.json``
    input is JSON lines), the output has a known extension and may be written
    (:func:`~spacy_rnn_ner.io.check_outputs`: a file, not the input, not inside an input
    folder, nor inside the pipeline folder ``model``, which ``spacy package`` would
    ship). Returns the input's kind (:func:`input_kind`)."""
    input_files(input_path)
    if Path(output_path).suffix.lower() not in SINKS:
        raise AnnotateError(f"{output_path}: output must end in {', '.join(OUTPUT_SUFFIXES)}")
    check_outputs([OutputFile(Path(output_path), OUTPUT_KINDS[Path(output_path).suffix.lower()])],
                  [input_path, model if model is not None and Path(model).is_dir() else None])
    return input_kind(input_path)


def open_sink(path: Union[str, Path]):
    """JSONL, DocBin or Parquet sink by the extension of ``path``."""
    path = Path(path)
    if path.suffix.lower() not in SINKS:
        raise AnnotateError(f"{path}: output must end in {', '.join(OUTPUT_SUFFIXES)}")
    return SINKS[path.suffix.lower()](path)


def progress_bar(stream: Optional[IO] = None, enabled: Optional[bool] = None):
    """A tqdm bar counting documents (with documents/s), shown when ``stream`` (default:
    the current ``sys.stderr``) is a terminal."""
    from tqdm import tqdm

    stream = sys.stderr if stream is None else stream

    if enabled is None:
        enabled = hasattr(stream, "isatty") and stream.isatty()
    return tqdm(unit="doc", file=stream, disable=not enabled, mininterval=0.5, dynamic_ncols=True)


def annotate_file(
    nlp: Language,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    batch_size: int = 64,
    n_process: int = 1,
    skip_bad_lines: bool = False,
    report: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    progress: Optional[bool] = None,
) -> Summary:
    """Annotate ``input_path`` into ``output_path`` in one pass (constant memory in the
    number of documents, except for DocBin input/output); the output appears only complete."""
    check_paths(input_path, output_path)  # fail before starting
    summary = Summary()
    spans_key = find_spans_key(nlp)
    records = screen(read_records(input_path), summary, skip_bad_lines, report, nlp.max_length)
    if Path(output_path).suffix.lower() != ".spacy":
        records = extensions_reported(records, report)
    sink = open_sink(output_path)

    def annotated() -> Iterator[Annotated]:
        for doc, record in pipe_records(nlp, records, batch_size=batch_size, n_process=n_process):
            yield (doc, output_record(doc, record, spans_key), *doc_counts(doc))

    with quiet_workers(n_process > 1):
        return write_annotated(sink, annotated(), summary, progress, str(input_path))


def extensions_reported(records: Iterable[Record], report: Callable[[str], None]) -> Iterator[Record]:
    """The records; the first one holding extension values (``user_data`` entries with
    non-string keys, which JSON cannot hold), and the first with ``doc.cats`` or span
    groups, are reported: only a ``.spacy`` output keeps them."""
    reported: Set[str] = set()
    for record in records:
        if record.extensions and "extensions" not in reported:
            reported.add("extensions")
            report(f"{record.where}: user_data entries with non-string keys (extension "
                   f"attributes) are kept only in a .spacy output")
        if (record.cats or record.span_groups) and "docs" not in reported:
            reported.add("docs")
            report(f"{record.where}: the document's cats and span groups are kept only in a "
                   f".spacy output")
        yield record


#: signals that interrupt a run (the command line makes SIGTERM and SIGHUP interrupts)
INTERRUPTS = INTERRUPT_SIGNALS
_QUIET_WORKERS = False


def _quiet_worker_signals() -> None:
    """In a process forked while :func:`quiet_workers` is on (an ``nlp.pipe`` worker):
    a signal ends it at once, without a traceback; Ctrl-C is the parent's to handle."""
    if _QUIET_WORKERS:
        for signum in INTERRUPTS:
            signal.signal(signum, signal.SIG_IGN if signum == signal.SIGINT else signal.SIG_DFL)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_quiet_worker_signals)


def stop_workers(known: Set[int]) -> None:
    """End the child processes not in ``known`` (the ``nlp.pipe`` workers) and let the
    process exit without flushing multiprocessing queues: nobody reads them any more, and
    a full one would block the exit."""
    import gc
    import multiprocessing
    import multiprocessing.queues

    for child in multiprocessing.active_children():
        if child.pid not in known:
            child.kill()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some objects warn when looked at (torch)
        queues = [obj for obj in gc.get_objects() if isinstance(obj, multiprocessing.queues.Queue)]
    for queue in queues:
        queue.cancel_join_thread()


@contextmanager
def quiet_workers(enabled: bool = True) -> Iterator[None]:
    """While the block runs, worker processes of ``nlp.pipe(n_process=N)`` stop on an
    interrupt without a traceback each: they ignore Ctrl-C and die on SIGTERM, and an
    interrupt of this process ends them first (spaCy would wait for them, and they for
    it), then goes to the handler there was before."""
    global _QUIET_WORKERS
    if not enabled:
        yield
        return
    import multiprocessing
    import multiprocessing.queues  # noqa: F401  now: Ctrl-C may come while spaCy imports it

    known = {child.pid for child in multiprocessing.active_children()}
    previous: Dict[int, Any] = {}

    def interrupted(signum: int, frame: Any) -> None:
        try:
            stop_workers(known)
        except Exception:  # the interrupt goes on to its handler whatever happens here
            pass
        handler = previous[signum]
        if callable(handler):
            handler(signum, frame)
        else:  # the default action
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for signum in INTERRUPTS:
        try:
            if signal.getsignal(signum) != signal.SIG_IGN:
                previous[signum] = signal.signal(signum, interrupted)
        except ValueError:  # not the main thread
            break
    was, _QUIET_WORKERS = _QUIET_WORKERS, True
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\[W127\]")  # workers ended here
            yield
    finally:
        _QUIET_WORKERS = was
        for signum, handler in previous.items():
            signal.signal(signum, handler)


#: one annotated document: (Doc or None, output record, tokens, words)
Annotated = Tuple[Optional[Doc], Dict[str, Any], int, int]


def write_annotated(sink, annotated: Iterable[Annotated], summary: Summary,
                    progress: Optional[bool] = None, source: str = "the input") -> Summary:
    """Write each annotated document to ``sink`` and count it in ``summary``, with a
    progress bar; the sink is committed at the end, or aborted on any error (also one
    raised while ``annotated`` is produced, so the output appears only complete). An input
    (``source``) that gave no document is an error, as for every command. The one loop of
    every engine (this module's, :mod:`.ray`'s)."""
    start = time.perf_counter()
    bar = progress_bar(enabled=progress)
    try:
        for doc, out, n_tokens, n_words in annotated:
            sink.write(doc, out)
            summary.add(n_tokens, n_words, (e["label"] for e in out["entities"]))
            bar.update(1)
        if not summary.documents:
            skipped = f" ({summary.skipped:,} bad lines skipped)" if summary.skipped else ""
            raise AnnotateError(f"{source}: holds no documents to annotate{skipped}")
        sink.commit()
    except BaseException:
        try:
            sink.abort()  # first: an error while the workers stop must not keep the temp file
        finally:
            close = getattr(annotated, "close", None)
            if close is not None:  # a generator: its clean-up (nlp.pipe's workers) runs now
                close()
        raise
    finally:
        bar.close()
        summary.seconds = time.perf_counter() - start
    return summary


def records_of_bytes(kind: str, data: bytes, name: str, relative: Optional[str] = None) -> Iterator[Record]:
    """Records of a file's content (for engines that read files as bytes, e.g. Ray)."""
    if kind == "dir":
        yield read_txt_file(data, name, relative or name)
    else:
        yield from read_stream(kind, io.BytesIO(data), name)
