"""Reading the files a user gives: UTF-8 text (a byte-order mark is allowed), JSON, JSON
lines; checking paths before work starts. Every failure is an
:class:`~spacy_rnn_ner.errors.InputError` naming the file (and the line or byte offset).
"""
import codecs
import json
import os
from pathlib import Path
from typing import Any, Dict, List

from .errors import InputError, PathLike


def read_bytes(path: PathLike) -> bytes:
    """The bytes of a file; a missing file, a folder or an unreadable file is an
    :class:`InputError` naming it."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, expected a file", path)
    if not path.is_file():
        raise InputError("no such file", path)
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot be read ({err.strerror or err})", path) from err


def decode_utf8(data: bytes, path: PathLike) -> str:
    """``data`` decoded as UTF-8 without a leading byte-order mark; invalid bytes raise
    ``PATH: not UTF-8 (byte 0xd2 at offset N)`` (offset in the file, in bytes)."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = start + err.start
        raise InputError(f"not UTF-8 (byte 0x{data[offset]:02x} at offset {offset})",
                         path) from None


def has_bom(path: PathLike) -> bool:
    """Whether the file starts with a UTF-8 byte-order mark."""
    with open(path, "rb") as f:
        return f.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8


def read_text(path: PathLike, translate_newlines: bool = True) -> str:
    """Text of a UTF-8 file (``utf-8-sig``: a byte-order mark is dropped). With
    ``translate_newlines`` ``\\r\\n`` and ``\\r`` become ``\\n``; without, line ends are
    kept as they are (brat counts offsets over the untranslated text)."""
    text = decode_utf8(read_bytes(path), path)
    if translate_newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_json(path: PathLike) -> Dict[str, Any]:
    """A JSON object from a file; anything else is an :class:`InputError`."""
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not JSON ({err.msg} at column {err.colno})", path, err.lineno) \
            from None
    if not isinstance(data, dict):
        raise InputError(f"expected a JSON object, found {type(data).__name__}", path)
    return data


def read_jsonl(path: PathLike) -> List[Dict[str, Any]]:
    """One JSON object per non-blank line; a bad line is an :class:`InputError` naming it."""
    records = []
    for line_no, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"not a JSON line ({err.msg})", path, line_no) from None
        if not isinstance(record, dict):
            raise InputError(f"expected a JSON object, found {type(record).__name__}",
                             path, line_no)
        records.append(record)
    return records


def check_exists(path: PathLike, kind: str = "any") -> Path:
    """``path`` if it exists (``kind``: ``"file"``, ``"dir"`` or ``"any"``), else an
    :class:`InputError` naming it."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", path)
    if kind == "file" and not path.is_file():
        raise InputError("is a folder, expected a file", path)
    if kind == "dir" and not path.is_dir():
        raise InputError("is a file, expected a folder", path)
    return path


def check_writable(path: PathLike) -> Path:
    """Make sure a file can be written at ``path`` (creating its parent folders) before
    any work is done; else an :class:`InputError` naming it."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, expected a file name to write", path)
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create its folder ({err.strerror or err})", path) from None
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError("not writable", path)
    return path
