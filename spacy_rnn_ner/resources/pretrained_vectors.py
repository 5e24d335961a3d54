"""Pretrained word vectors from outside (fastText ``.vec``/``.vec.gz`` text, ``.bin``
models) as a spaCy vectors table, the route to the published accuracy for users who can
download them: ``python -m spacy_rnn_ner vectors-import SOURCE OUTPUT_DIR``.

``SOURCE`` is ``local`` (floret vectors trained here, :mod:`.vectors`), a named source
(:data:`NAMED_SOURCES`) or a path. Pretrained vectors are an outside resource: their
training text is not filtered against ner-uk TEST documents, so :func:`describe_source`
says so in ``metrics/vectors.json``.
"""
import codecs
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy

from ..errors import InputError, import_optional
from ..io import NUL_REASON, check_exists

LOCAL = "local"
# name: (file under the project, where to download it)
NAMED_SOURCES: Dict[str, Tuple[str, str]] = {
    "cc.uk.300": ("assets/cc.uk.300.vec.gz",
                  "https://dl.fbaipublicfiles.com/fasttext/vectors-crawl/cc.uk.300.vec.gz"),
}
TEXT_SUFFIXES = (".vec", ".vec.gz", ".txt", ".txt.gz")
DEFAULT_PRUNE = 200000
DEFAULT_TRUNCATE = 400000


def resolve_source(source: str) -> Path:
    """The vectors file of a named source or a path; a missing file is an
    :class:`InputError` naming it (and, for a named source, where to download it)."""
    if source in NAMED_SOURCES:
        path, url = NAMED_SOURCES[source]
        if not Path(path).is_file():
            raise InputError(f"vectors '{source}' not found: download {url} "
                             f"(`spacy project assets --extra`)", path)
        return Path(path)
    return check_exists(source, "file")


_SIZE_RE = re.compile(r"[0-9]{1,12}")


def _open(path: Path, mode: str = "rb", **kwargs):
    opener = gzip.open if path.name.endswith(".gz") else open
    return opener(path, mode, **kwargs)


def _lines(path: Path) -> Iterator[str]:
    """The lines of a vectors text file, gzipped or not (a UTF-8 byte-order mark is
    dropped)."""
    with _open(path, "rt", encoding="utf-8-sig") as f:
        yield from f


def has_bom(path: Path) -> bool:
    """Whether a vectors text file (gzipped or not) starts with a UTF-8 byte-order mark."""
    try:
        with _open(path) as f:
            return f.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    except (OSError, EOFError):
        return False


def without_bom(path: Path, output: Path) -> Path:
    """A copy of the vectors text file ``path`` without its byte-order mark (which
    ``spacy init vectors`` would glue to the header's first number, reading the header as
    a row and every row as a 1-wide vector)."""
    with _open(path) as source, open(output, "wb") as copy:
        source.read(len(codecs.BOM_UTF8))
        shutil.copyfileobj(source, copy, 1 << 20)
    return output


def has_header(first_line: str) -> bool:
    """Whether a vectors text file's first line is its ``ROWS WIDTH`` header."""
    fields = first_line.split()
    return len(fields) == 2 and all(_SIZE_RE.fullmatch(x) for x in fields)


def check_text_vectors(path: Path) -> int:
    """The width of a word2vec/fastText text file (``.vec``, optionally gzipped), read from
    its first lines; a file that is not one is an :class:`InputError` naming it and the
    line."""
    try:
        lines = _lines(path)
        first_line, second_line = next(lines, ""), next(lines, "")
        lines.close()
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise InputError(f"not a vectors text file ({err})", path) from None
    for line_no, line in enumerate((first_line, second_line), start=1):
        if "\0" in line:  # UTF-16 without a byte-order mark reads as UTF-8 with NULs
            raise InputError(f"not UTF-8 text (a NUL byte: {NUL_REASON})", path, line_no)
    first, second = first_line.split(), second_line.split()
    if has_header(first_line):  # "ROWS WIDTH" header
        width, line = int(first[1]), 2
        row = second_line.rstrip().rsplit(" ", width) if second else []  # as spaCy splits rows
        if width < 1:
            raise InputError(f"not a vectors text file (the header {first_line.strip()!r} "
                             f"announces vectors of width {width})", path, 1)
        if not second:
            raise InputError(f"not a vectors text file (no vectors after the header "
                             f"{first_line.strip()!r})", path)
    else:
        width, line, row = len(first) - 1, 1, first
    if width < 1 or len(row) != width + 1:
        raise InputError(f"not a vectors text file (expected a word and {width} numbers)",
                         path, line)
    try:
        [float(x) for x in row[1:]]
    except ValueError:
        if line == 1 and len(first_line.rstrip().split(" ")) != len(first):
            # spaCy reads the width of a file without a header from its first row split at
            # any whitespace; its later rows are split at spaces only
            raise InputError("the first row's word holds a whitespace character other than a space "
                             "(e.g. a no-break space), and spaCy reads the vectors' width from the "
                             "first row split at any whitespace: add a 'ROWS WIDTH' header line or "
                             "put another row first", path, line) from None
        raise InputError("not a vectors text file (a value is not a number)", path, line) from None
    return width


def scan_rows(path: Path, width: int, max_rows: int = 0,
              warn: Callable[[str], None] = lambda message: None) -> int:
    """Read the rows of a vectors text file as ``spacy init vectors`` will (the first
    ``max_rows``, 0: all) and check what it would take without a word: each row must be a
    word and ``width`` finite numbers (NaN, inf and values beyond a float32 are refused),
    and a ``ROWS WIDTH`` header must announce as many rows as there are (a file cut short
    would give a smaller table). Each an :class:`InputError` naming the file and line. A
    word on several rows (spaCy keeps its last vector) goes to ``warn``. Returns the
    number of rows read."""
    rows = line_no = 0
    announced: Optional[int] = None
    first_line: Dict[str, int] = {}
    repeated: List[Tuple[str, int, int]] = []
    try:
        for line_no, line in enumerate(_lines(path), start=1):
            if line_no == 1 and has_header(line):
                announced = int(line.split()[0])
                continue
            if announced is not None and rows == announced:
                raise InputError(f"not a vectors text file (the header announces {announced} rows, "
                                 "but there are more)", path, line_no)
            pieces = line.rstrip().rsplit(" ", width)
            if len(pieces) - 1 != width:
                raise InputError(f"not a vectors text file (expected a word and {width} numbers, "
                                 f"found {len(pieces) - 1})", path, line_no)
            with numpy.errstate(over="ignore"):
                try:
                    values = numpy.asarray(pieces[1:], dtype="f")
                except ValueError:
                    raise InputError("not a vectors text file (a value is not a number)", path,
                                     line_no) from None
            if not numpy.isfinite(values).all():
                raise InputError("a value is NaN, infinite or beyond a 32-bit float: the vector "
                                 "would poison every feature it reaches", path, line_no)
            word = pieces[0]
            if not word:  # spaCy would drop the row without a word
                raise InputError("not a vectors text file (a row without a word: the line starts with "
                                 "a space)", path, line_no)
            if word in first_line:
                repeated.append((word, first_line[word], line_no))
            first_line[word] = line_no
            rows += 1
            if rows == max_rows:
                break
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise InputError(f"not a vectors text file ({err})", path, line_no or None) from None
    expected = announced if announced is None or not max_rows else min(announced, max_rows)
    if expected is not None and rows < expected:
        raise InputError(f"the header announces {announced} rows, but the file has {rows} (cut "
                         "short?): download it again, or fix the header", path)
    if repeated:
        word, first, again = repeated[0]
        warn(f"{path}: {len(repeated)} row(s) repeat a word of an earlier row (first: {word!r} on "
             f"lines {first} and {again}): spaCy keeps the last vector of each such word")
    return rows


def bin_to_text(path: Path, output: Path, max_rows: int = 0) -> Path:
    """Write the words of a fastText/floret ``.bin`` model (most frequent first, the first
    ``max_rows`` if above 0) as a ``.vec`` text file."""
    floret = import_optional("floret", "vectors", "reading .bin vectors")
    try:
        model = floret.load_model(str(path))
    except ValueError as err:
        raise InputError(f"not a fastText .bin model ({err})", path) from None
    words = model.get_words()
    if max_rows > 0:
        words = words[:max_rows]
    with open(output, "w", encoding="utf-8") as f:
        f.write(f"{len(words)} {model.get_dimension()}\n")
        for word in words:
            values = " ".join(f"{x:.5f}" for x in model.get_word_vector(word))
            f.write(f"{word} {values}\n")
    return output


def init_vectors(lang: str, vectors: Path, output: Path, prune: int = -1,
                 truncate: int = 0, mode: str = "default") -> None:
    """``spacy init vectors`` (its own process, so its memory goes back when it ends)."""
    cmd = [sys.executable, "-m", "spacy", "init", "vectors", lang, str(vectors), str(output),
           "--prune", str(prune), "--truncate", str(truncate), "--mode", mode]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise InputError(f"spacy init vectors failed: {lines[-1] if lines else result.returncode}",
                         vectors)


def import_pretrained_vectors(source: str, output: Path, lang: str, prune: int = DEFAULT_PRUNE,
                              truncate: int = DEFAULT_TRUNCATE,
                              warn: Callable[[str], None] = lambda message: None) -> Dict[str, object]:
    """Turn the pretrained vectors of ``source`` into a spaCy vectors table at ``output``:
    the first ``truncate`` rows of the file are read (0: all), ``prune`` rows are kept
    (the others map to their nearest kept row; -1: all); the rows are checked first
    (:func:`scan_rows`; ``warn`` gets what is taken with a warning). Returns the
    description for ``metrics/vectors.json``."""
    if prune == 0 or prune < -1 or truncate < 0:
        raise InputError(f"expected prune -1 or above 0 and truncate 0 or above, "
                         f"got prune={prune}, truncate={truncate}")
    path = resolve_source(source)
    with tempfile.TemporaryDirectory() as tmp:
        if path.name.endswith(".bin"):
            text = bin_to_text(path, Path(tmp) / "vectors.vec", truncate)
        elif path.name.endswith(TEXT_SUFFIXES):
            text = path
        else:
            raise InputError(f"unknown vectors format (expected {', '.join(TEXT_SUFFIXES)} "
                             f"or .bin)", path)
        width = check_text_vectors(text)
        rows = scan_rows(text, width, truncate, warn)
        if has_bom(text):
            text = without_bom(text, Path(tmp) / "vectors.vec")
        # spaCy allocates a table of truncate rows, however few the file has
        init_vectors(lang, text, output, prune=prune, truncate=min(truncate, rows))
    return describe_source(source, path, width=width, prune=prune, truncate=truncate)


#: what ``spacy init vectors`` writes into its output folder
VECTORS_FOLDER_ENTRIES = ("config.cfg", "meta.json", "tokenizer", "vocab")


def is_vectors_folder(path: Path) -> bool:
    """Whether ``path`` holds what ``spacy init vectors`` wrote (an earlier output of
    ``vectors-import``) and nothing else: a pipeline without components, with vectors."""
    names = set(os.listdir(path))
    if not names <= set(VECTORS_FOLDER_ENTRIES) or "meta.json" not in names:
        return False
    try:
        meta = json.loads((Path(path) / "meta.json").read_text(encoding="utf8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and not meta.get("pipeline") and "vectors" in meta


def describe_source(source: str, path: Optional[Path] = None, **sizes: object) -> Dict[str, object]:
    """What the vectors are made from, for ``metrics/vectors.json`` and the report."""
    if source == LOCAL:
        return {"source": LOCAL, "outside_resource": False,
                "note": "floret vectors trained here on resources/pretrain.txt "
                        "(documents overlapping ner-uk TEST dropped)", **sizes}
    return {"source": source, "file": str(path), "outside_resource": True,
            "note": "pretrained vectors from outside: their training text was not "
                    "filtered against ner-uk TEST documents", **sizes}
