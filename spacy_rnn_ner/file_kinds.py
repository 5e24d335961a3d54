"""What a file holds, told from its first bytes, and the kinds of file the commands write.

An output file of a command has a :class:`FileKind` (a spaCy DocBin, floret vectors, JSON,
a Markdown table...). :func:`spacy_rnn_ner.io.check_outputs` refuses, before any work, an
output whose name does not end in the kind's suffix (where the command defines it) and an
existing file that does not hold that kind (:func:`describe_content` says what it holds):
``convert conll train.conll test.conll`` must not turn the user's test split into a
DocBin. A file of the same kind (an earlier run's output) and an empty file may be
replaced.
"""
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Tuple

#: how much of a file is read to tell what it holds
HEAD_SIZE = 1 << 16
#: JSON files up to this size are parsed whole to tell JSON from JSON lines
JSON_PARSE_LIMIT = 1 << 24


def read_head(path: Path, size: int = HEAD_SIZE) -> bytes:
    """The first ``size`` bytes of a file (``b""`` when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def is_docbin(head: bytes) -> bool:
    """A DocBin: zlib-compressed msgpack whose first object is a map."""
    try:
        start = zlib.decompressobj().decompress(head, 1)
    except zlib.error:
        return False
    return bool(start) and (0x80 <= start[0] <= 0x8F or start[0] in (0xDE, 0xDF))


def head_text(head: bytes) -> Optional[str]:
    """``head`` as UTF-8 text (a multi-byte character cut at the end is allowed, a NUL
    byte is not), or ``None`` when it is binary data."""
    if b"\0" in head:
        return None
    for cut in range(4):
        try:
            return head[:len(head) - cut].decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
    return None


def _lines(head: bytes) -> list:
    text = head_text(head)
    return [] if text is None else [line for line in text.splitlines() if line.strip()]


def is_floret(head: bytes) -> bool:
    """floret's ``.floret`` text: a first line of at least six integers (bucket, dim,
    minn, maxn, hash count, hash seed)."""
    lines = _lines(head)
    fields = lines[0].split() if lines else []
    return len(fields) >= 6 and all(f.isdigit() for f in fields[:6])


def is_json(head: bytes, path: Optional[Path] = None) -> bool:
    """One JSON document (an object or array); a small file is parsed whole, so that
    JSON lines (several documents) are not taken for it."""
    text = head_text(head)
    if text is None or not text.lstrip()[:1] in ("{", "["):
        return False
    if path is not None and path.stat().st_size <= JSON_PARSE_LIMIT:
        try:
            json.loads(path.read_bytes().decode("utf-8-sig"))
        except (ValueError, OSError, RecursionError):
            return False
    return True


def is_json_lines(head: bytes) -> bool:
    """JSON lines: the first non-blank line is a JSON object (one longer than ``head``
    need only start as one)."""
    text = head_text(head)
    first = (text or "").lstrip()
    if not first.startswith("{"):
        return False
    if "\n" not in first:
        return True
    try:
        return isinstance(json.loads(first.split("\n", 1)[0]), dict)
    except (ValueError, RecursionError):
        return False


def is_markdown(head: bytes) -> bool:
    """Markdown as the commands write it: text with a table row (``| ... |``) or a
    heading (``# ...``)."""
    return any((line.startswith("|") and line.rstrip().endswith("|")) or line.startswith("# ")
               for line in _lines(head))


def is_text(head: bytes) -> bool:
    return head_text(head) is not None


def is_parquet(head: bytes) -> bool:
    return head.startswith(b"PAR1")


def is_png(head: bytes) -> bool:
    return head.startswith(b"\x89PNG")


def png_text(head: bytes) -> dict:
    """The ``tEXt`` entries (keyword -> text) of a PNG file's chunks before its image
    data (matplotlib and PIL write them there); ``{}`` for anything else."""
    import struct

    entries = {}
    if not is_png(head):
        return entries
    pos = 8
    while pos + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[pos:pos + 8])
        data = head[pos + 8:pos + 8 + length]
        if kind in (b"IDAT", b"IEND") or len(data) < length:
            break
        if kind == b"tEXt" and b"\0" in data:
            key, value = data.split(b"\0", 1)
            entries[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return entries


def is_torch(head: bytes) -> bool:
    """A ``torch.save`` file: a zip archive (or an older pickle)."""
    return head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")


def holds_torch(head: bytes, path: Path) -> bool:
    """A ``torch.save`` file: a zip archive holding ``<name>/data.pkl`` (any other zip,
    e.g. a user's archive named ``.pt``, is not one), or an older pickle. A damaged zip
    (a save cut short) still counts: what it held cannot be told, and ``--resume`` names it."""
    if head.startswith(b"\x80"):
        return True
    if not head.startswith(b"PK\x03\x04"):
        return False
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") or name == "data.pkl" for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return True


def is_html(head: bytes) -> bool:
    text = head_text(head)
    return text is not None and text.lstrip()[:1] == "<"


#: issues files of ``convert`` start with this line
ISSUES_HEADER = "action\tkind\tlabel\tpath\tline\tmessage"


def is_issues_tsv(head: bytes) -> bool:
    lines = _lines(head)
    return bool(lines) and lines[0] == ISSUES_HEADER


def full_lines(head: bytes, path: Path) -> list:
    """The non-blank lines of ``head``, without the last one when the file is longer than
    ``head`` (it may be cut)."""
    lines = (head_text(head) or "").splitlines()
    try:
        longer = path.stat().st_size > len(head)
    except OSError:
        longer = False
    if longer and lines:
        lines = lines[:-1]
    return [line for line in lines if line.strip()]


def describe_content(path: Path) -> str:
    """What a file holds, in a few words: ``a spaCy DocBin``, ``floret vectors``,
    ``JSON``, ``JSON lines``, ``a Markdown table``, ``text`` or ``binary data``."""
    head = read_head(path)
    if is_torch(head):
        return "a PyTorch file" if holds_torch(head, path) else "a zip archive"
    for test, name in ((is_docbin, "a spaCy DocBin"), (is_parquet, "a Parquet file"),
                       (is_png, "a PNG image"),
                       (is_floret, "floret vectors"), (is_issues_tsv, "a convert issues file")):
        if test(head):
            return name
    if is_json(head, path):
        return "JSON"
    for test, name in ((is_json_lines, "JSON lines"), (is_markdown, "Markdown"),
                       (is_text, "text")):
        if test(head):
            return name
    return "binary data"


@dataclass(frozen=True)
class FileKind:
    """A kind of output file: ``name`` for messages, ``suffixes`` its name must end in
    (lower case; empty: any name), ``holds`` tells an existing file of this kind (which
    may be replaced) from its first bytes and path."""

    name: str
    holds: Callable[[bytes, Path], bool]
    suffixes: Tuple[str, ...] = ()


def _head_test(test: Callable[[bytes], bool]) -> Callable[[bytes, Path], bool]:
    return lambda head, path: test(head)


DOCBIN = FileKind("a spaCy DocBin (.spacy)", _head_test(is_docbin), (".spacy",))
FLORET = FileKind("floret vectors (.floret)", _head_test(is_floret), (".floret",))
JSON = FileKind("JSON", is_json)
JSON_LINES = FileKind("JSON lines", _head_test(is_json_lines), (".jsonl",))
PARQUET = FileKind("a Parquet file", _head_test(is_parquet), (".parquet",))
MARKDOWN = FileKind("a Markdown table", _head_test(is_markdown))
TEXT = FileKind("text", _head_test(is_text))
ISSUES = FileKind("a convert issues file (TSV)", _head_test(is_issues_tsv))
HTML = FileKind("HTML", _head_test(is_html), (".html",))


def torch_output(command: str, formats: Tuple[str, ...]) -> FileKind:
    """The ``torch.save`` output of ``command``: an existing file counts as an earlier
    output when it loads with ``weights_only=True`` as a dict whose ``format`` is one of
    ``formats`` (what the command writes); any other torch file (a user's model) is
    refused. A zip that cannot be opened (a save cut short) still counts, as for
    :func:`holds_torch`."""

    def holds(head: bytes, path: Path) -> bool:
        if not holds_torch(head, path):
            return False
        import zipfile

        if head.startswith(b"PK\x03\x04") and not zipfile.is_zipfile(path):
            return True  # damaged: what it held cannot be told
        try:
            import torch

            data = torch.load(path, map_location="cpu", weights_only=True,
                              mmap=head.startswith(b"PK\x03\x04"))
        except Exception:
            return False
        return isinstance(data, dict) and data.get("format") in formats

    return FileKind(f"an earlier output of {command} (PyTorch)", holds)


#: an IOB tag (as :data:`spacy_rnn_ner.converters.conll.TAG_RE`)
IOB_TAG_RE = re.compile(r"^(?:O|[BI]-\S+)$")


def _holds_iob_lines(head: bytes, path: Path) -> bool:
    return is_text(head) and all(IOB_TAG_RE.match(tag) for line in full_lines(head, path)
                                 for tag in line.split())


#: ``labels.txt`` of ``convert to-nemo``: lines of IOB tags (a user's text is refused)
NEMO_LABELS = FileKind("NeMo labels (lines of IOB tags)", _holds_iob_lines)


#: the first line of a Markdown file the command ``{}`` writes (an HTML comment: not shown)
MARKDOWN_MARKER = "<!-- spacy-rnn-ner: {} -->"


def markdown_marker(command: str) -> str:
    """The first line of every Markdown file ``command`` writes: an existing file there is
    replaced only when it starts with it (see :func:`markdown_output`)."""
    return MARKDOWN_MARKER.format(command)


def markdown_output(command: str, earlier: Tuple[str, ...] = ()) -> FileKind:
    """The Markdown output of ``command``: an existing file counts as an earlier output
    (which may be replaced) when its first non-blank line is :func:`markdown_marker`, or
    starts with one of ``earlier`` (the first line the command wrote before it wrote the
    marker); a user's own Markdown (a README, notes) is refused."""
    marker = markdown_marker(command)

    def holds(head: bytes, path: Path) -> bool:
        lines = _lines(head)
        first = lines[0].strip() if lines else ""
        return first == marker or any(first.startswith(line) for line in earlier)

    return FileKind(f"an earlier output of {command} (Markdown)", holds)


def json_output(command: str, keys: Tuple[str, ...]) -> FileKind:
    """The JSON output of ``command``: an existing file counts as an earlier output when
    it is a JSON object holding every one of ``keys`` (those the command always writes);
    any other JSON (another command's scores, a user's file) is refused."""

    def holds(head: bytes, path: Path) -> bool:
        if not is_json(head, path) or path.stat().st_size > JSON_PARSE_LIMIT:
            return False
        try:
            data = json.loads(path.read_bytes().decode("utf-8-sig"))
        except (ValueError, OSError, RecursionError):
            return False
        return isinstance(data, dict) and all(key in data for key in keys)

    return FileKind(f"an earlier output of {command} (JSON)", holds)


#: the keys every JSON line ``annotate`` writes holds
ANNOTATE_KEYS = ("text", "entities")
#: the columns of the Parquet file ``annotate`` writes
ANNOTATE_COLUMNS = ("text", "entities", "meta")


def _holds_annotate_jsonl(head: bytes, path: Path) -> bool:
    """JSON lines whose first line is an object with ``text`` (a string) and ``entities``
    (a list), as every line ``annotate`` writes."""
    if not is_json_lines(head):
        return False
    first = (head_text(head) or "").lstrip().split("\n", 1)[0]
    try:
        record = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return (isinstance(record, dict) and isinstance(record.get("text"), str)
            and isinstance(record.get("entities"), list))


def _holds_annotate_parquet(head: bytes, path: Path) -> bool:
    """A Parquet file with the columns ``annotate`` writes (``text``, ``entities``,
    ``meta``); any other table is refused."""
    if not is_parquet(head):
        return False
    try:
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
    except Exception:
        return False
    return names == list(ANNOTATE_COLUMNS)


#: the ``user_data`` key ``annotate`` writes into every document of its DocBin output
#: (value ``True``): an existing DocBin is replaced only when its first document has it
ANNOTATE_DOC_KEY = "spacy_rnn_ner.annotate"


def _holds_annotate_docbin(head: bytes, path: Path) -> bool:
    """A DocBin stored with ``user_data`` whose first document carries
    :data:`ANNOTATE_DOC_KEY`; any other DocBin (a user's gold data) is refused."""
    if not is_docbin(head):
        return False
    try:
        import srsly

        msg = srsly.msgpack_loads(zlib.decompress(path.read_bytes()))
        user_data = msg.get("user_data") or [b""]
        first = srsly.msgpack_loads(user_data[0]) if user_data[0] else {}
    except Exception:
        return False
    return isinstance(first, dict) and first.get(ANNOTATE_DOC_KEY) is True


ANNOTATE_JSONL = FileKind("an earlier output of annotate (JSON lines)", _holds_annotate_jsonl, (".jsonl",))
ANNOTATE_PARQUET = FileKind("an earlier output of annotate (Parquet)", _holds_annotate_parquet, (".parquet",))
ANNOTATE_DOCBIN = FileKind("an earlier output of annotate (DocBin)", _holds_annotate_docbin, (".spacy",))

#: the comment line after ``<!DOCTYPE html>`` in every HTML page ``report`` writes
HTML_MARKER = "<!-- spacy-rnn-ner: report -->"
#: how the examples page of an earlier version (without the marker) started
DISPLACY_HEAD = '<!DOCTYPE html>\n<html lang="en">\n    <head>\n        <title>displaCy</title>'


def _holds_report_html(head: bytes, path: Path) -> bool:
    text = (head_text(head) or "").lstrip()
    lines = [line.strip() for line in text.splitlines()[:3]]
    return HTML_MARKER in lines or text.startswith(DISPLACY_HEAD)


#: the examples page of ``report``: replaced only when it carries :data:`HTML_MARKER`
#: (or starts as the page of an earlier version did); a user's own HTML is refused
REPORT_HTML = FileKind("an earlier output of report (HTML)", _holds_report_html, (".html",))


#: the ``tEXt`` entry of every PNG plot ``report`` writes (``savefig(metadata=...)``)
REPORT_PNG_METADATA = {"Software": "spacy-rnn-ner report"}


def _holds_report_png(head: bytes, path: Path) -> bool:
    text = png_text(head)
    return all(text.get(key) == value for key, value in REPORT_PNG_METADATA.items())


#: the plots of ``report``: a PNG is replaced only when it carries
#: :data:`REPORT_PNG_METADATA`; any other PNG (a user's plot or photo) is refused
REPORT_PNG = FileKind("an earlier output of report (PNG)", _holds_report_png, (".png",))


#: the Markdown and JSON outputs of the commands (see :func:`markdown_output`,
#: :func:`json_output`)
COMPARE_MARKDOWN = markdown_output("compare", ("# NER systems compared",))
REPORT_MARKDOWN = markdown_output("report", ("# NER evaluation report: ",))
COVERAGE_MARKDOWN = markdown_output("lexicon-coverage", ("| feature | fires |",))
PRETRAIN_MARKDOWN = markdown_output("pretrain-text", ("| source | docs | docs dropped |",))
AGREEMENT_MARKDOWN = markdown_output("ner-uk-agreement", ("ner-uk 1.0 vs 2.0 mapped to 1.0's types",))
REPORT_JSON = json_output("report", ("name", "model", "data", "files", "confusion"))
DECODING_JSON = json_output("compare-decoding", ("viterbi", "greedy"))
VECTORS_RECORD = json_output("vectors-import", ("source", "outside_resource", "note"))


def kind_refusal(path: Path, kind: FileKind, target: Optional[Path] = None) -> Optional[str]:
    """Why ``path`` may not be written as ``kind`` (its name lacks the kind's suffix, or
    the existing file there, ``target`` when ``path`` is a link to it, holds something
    else), or ``None``."""
    path = Path(path)
    target = path if target is None else Path(target)
    if target.is_file() and target.stat().st_size > 0 and not kind.holds(read_head(target), target):
        return (f"holds {describe_content(target)}, not {kind.name}: the output would replace "
                "it; give another file name (or remove the file first)")
    if kind.suffixes and not path.name.lower().endswith(kind.suffixes):
        return (f"the output is {kind.name}: give a file name ending in "
                f"{' or '.join(kind.suffixes)}")
    return None
