"""Every file the package reads or writes goes through here: UTF-8 text (a byte-order
mark is allowed), JSON, JSON lines, spaCy DocBin (``.spacy``), atomic writes (a file
appears complete or not at all), and the checks of paths before work starts. Every
failure is an :class:`~spacy_rnn_ner.errors.InputError` naming the file (and the line or
byte offset).
"""
import codecs
import json
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .errors import InputError, PathLike, UserError


#: the reason given for JSON nested deeper than Python's recursion limit
TOO_DEEP = "JSON nested too deeply to be read"


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
    except RecursionError:
        raise InputError(TOO_DEEP, path) from None
    if not isinstance(data, dict):
        raise InputError(f"expected a JSON object, found {type(data).__name__}", path)
    return data


def parse_json_line(line: Union[str, bytes]) -> Dict[str, Any]:
    """The JSON object on one line of a JSON-lines file; anything else (bytes that are
    not UTF-8, not JSON, not an object) is an :class:`InputError` saying why (the caller
    adds the file and line)."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputError(f"not UTF-8 ({err.reason} at byte {err.start})") from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON ({err.msg}, column {err.colno})") from None
    except RecursionError:  # json.loads recurses once per nesting level
        raise InputError(TOO_DEEP) from None
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, found {type(record).__name__}")
    return record


def read_jsonl(path: PathLike) -> List[Dict[str, Any]]:
    """One JSON object per non-blank line; a bad line is an :class:`InputError` naming it."""
    records = []
    for line_no, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(parse_json_line(line))
        except InputError as err:
            raise InputError(err.message, path, line_no) from None
    return records


def docbin_from_bytes(data: bytes, path: PathLike) -> DocBin:
    """The DocBin serialized in ``data`` (read from ``path``); anything else is an
    :class:`InputError` naming ``path``."""
    try:
        return DocBin().from_bytes(data)
    except Exception as err:  # zlib, msgpack, KeyError...: not a DocBin
        raise InputError(f"not a spaCy DocBin (.spacy) file ({type(err).__name__})",
                         path) from None


def load_docbin(path: PathLike) -> DocBin:
    """The DocBin in a ``.spacy`` file; a missing file or one that is not a DocBin is an
    :class:`InputError` naming it."""
    return docbin_from_bytes(read_bytes(path), path)


def read_docbin(path: PathLike, vocab: Optional[Vocab] = None) -> List[Doc]:
    """Docs of a ``.spacy`` file (see :func:`load_docbin`), over ``vocab`` (default: a
    blank multi-language vocab, whose lexical attributes such as ``is_space`` are set)."""
    docbin = load_docbin(path)
    if vocab is None:
        import spacy

        vocab = spacy.blank("xx").vocab
    return list(docbin.get_docs(vocab))


def write_docbin(docs: Iterable[Doc], path: PathLike) -> Path:
    """Write ``docs`` to a ``.spacy`` DocBin (with ``user_data``), atomically, creating
    the parent folders. Returns the path."""
    docbin = DocBin(store_user_data=True)
    for doc in docs:
        docbin.add(doc)
    with AtomicFile(path, create_folder=True) as file:
        file.write(docbin.to_bytes())
    return Path(path)


def new_file_mode(path: PathLike) -> int:
    """The permission bits a plain ``open(path, "w")`` would leave: an existing file's
    own, else ``0o666`` less the process's umask."""
    try:
        if os.path.isfile(path):
            return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class AtomicFile:
    """A file written under a temporary name next to ``path`` and moved over it by
    :meth:`commit` (``os.replace``, after ``fsync``); :meth:`abort` removes it, so an
    interrupted run never leaves a half-written file. The file gets the mode a plain
    ``open`` would give (:func:`new_file_mode`), not ``mkstemp``'s 0600. As a context
    manager it commits on success and aborts on an exception. ``create_folder``: create
    the parent folders (else a missing folder is an :class:`InputError`, before any work
    is done). ``mode=None``: no file object; another writer (a library that takes a file
    name) writes to :attr:`tmp`."""

    def __init__(self, path: PathLike, mode: Optional[str] = "wb",
                 create_folder: bool = False):
        self.path = Path(path)
        if create_folder:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.parent.is_dir():
            raise InputError("output folder does not exist", self.path.parent)
        self.file_mode = new_file_mode(self.path)
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                        suffix=".tmp")
        os.fchmod(fd, self.file_mode)
        self.fh: Optional[IO] = None
        if mode is None:
            os.close(fd)
        else:
            self.fh = os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf8"}))

    def write(self, data: Any) -> int:
        return self.fh.write(data)

    def commit(self) -> None:
        if self.fh is not None:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
        else:
            with open(self.tmp, "rb+") as written:
                os.fsync(written.fileno())
            os.chmod(self.tmp, self.file_mode)  # in case the writer made a new file
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self.fh is not None:
            self.fh.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)

    def __enter__(self) -> "AtomicFile":
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        if error_type is None:
            self.commit()
        else:
            self.abort()


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
    """Make sure a file can be written at ``path`` before any work is done: not a folder,
    under a folder (existing or to be created) that can be written; else an
    :class:`InputError` naming it. Creates nothing."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, expected a file name to write", path)
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError("not writable", path)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise InputError("is a file, expected a folder", folder)
    if not os.access(folder, os.W_OK):
        raise InputError("not writable (its folder cannot be written)", path)
    return path


def files_with_suffix(folder: PathLike, suffixes: Sequence[str] = (".txt",),
                      recursive: bool = True) -> List[Path]:
    """The files under ``folder`` (recursively by default, sorted) whose suffix is one of
    ``suffixes`` in any case (``A.TXT`` is a ``.txt`` file)."""
    wanted = {s.lower() for s in suffixes}
    found = Path(folder).rglob("*") if recursive else Path(folder).glob("*")
    return sorted(p for p in found if p.suffix.lower() in wanted and p.is_file())


def _same_path(a: Path, b: Path) -> bool:
    """Whether two resolved paths name the same file (also through a hard link)."""
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: Iterable[Optional[PathLike]],
                  inputs: Iterable[Optional[PathLike]] = (),
                  folders: Iterable[Optional[PathLike]] = ()) -> List[Path]:
    """The one rule for the paths a command writes, checked before any work starts. An
    output file (``outputs``) or output folder (``folders``, filled by the command) may
    not be an input (the same file or folder), another output of the same run, or inside
    an input folder (a corpus or model the command reads); each output file must be
    writable (:func:`check_writable`), an output folder must not be a file. ``None``
    entries are ignored. Every refusal is an :class:`InputError` naming both paths.
    Returns the output files."""
    given_inputs = [(Path(p), Path(p).resolve()) for p in inputs if p is not None]
    files = [Path(p) for p in outputs if p is not None]
    written = [(p, p.resolve()) for p in [*files, *(Path(f) for f in folders if f is not None)]]
    for i, (output, target) in enumerate(written):
        for given, source in given_inputs:
            if _same_path(target, source):
                raise InputError(f"output would overwrite the input {given}", output)
            if source.is_dir() and source in target.parents:
                raise InputError(f"output would be written inside the input folder {given}, "
                                 "which the command reads", output)
        for other, other_target in written[:i]:
            if _same_path(target, other_target):
                raise InputError(f"output would overwrite another output of the same run, "
                                 f"{other}", output)
    for output in files:
        check_writable(output)
    for folder in folders:
        if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
            raise InputError("is a file, expected a folder", folder)
    return files


def check_utf8_file(path: PathLike, chunk_size: int = 1 << 20) -> Path:
    """Check that a (possibly huge) file is UTF-8 without reading it whole; else an
    :class:`InputError` naming it and the first bad byte's offset."""
    path = Path(check_exists(path, "file"))
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as f:
        while True:
            chunk = f.read(chunk_size)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as err:
                # err.start counts from the decoder's buffered bytes plus this chunk
                buffered = len(err.object) - len(chunk)
                at = offset - buffered + err.start
                raise InputError(f"not UTF-8 (byte 0x{err.object[err.start]:02x} at offset "
                                 f"{at})", path) from None
            if not chunk:
                return path
            offset += len(chunk)


def load_pipeline(model: PathLike, **kwargs: Any) -> Any:
    """``spacy.load(model)``; a missing, incomplete or damaged pipeline, or one without
    components (it would find nothing), is an :class:`InputError` naming it (with
    spaCy's reason on one line)."""
    import spacy

    if not Path(model).exists() and not spacy.util.is_package(str(model)):
        raise InputError("no such pipeline folder or installed package", model)
    try:
        nlp = spacy.load(model, **kwargs)
    except UserError:
        raise
    except Exception as err:  # truncated weights, bad cfg/JSON, missing files...
        reason = " ".join(str(err).split())
        if len(reason) > 200:
            reason = reason[:200] + "..."
        raise InputError(f"cannot load the pipeline ({type(err).__name__}: {reason})",
                         model) from err
    if not nlp.pipeline:
        raise InputError("the pipeline has no components: it would find no entities", model)
    return nlp


def require_gpu(gpu_id: int) -> None:
    """``spacy.require_gpu(gpu_id)``; no usable GPU (no CuPy, no CUDA device) is an
    :class:`InputError` naming ``--gpu-id``."""
    import spacy

    try:
        spacy.require_gpu(gpu_id)
    except Exception as err:  # thinc: ValueError "GPU is not accessible"; CuPy errors
        reason = " ".join(str(err).split())
        raise InputError(f"--gpu-id {gpu_id}: no usable GPU ({reason}); use --gpu-id -1 "
                         "for the CPU") from None


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """A temporary file name next to ``path`` for a writer that takes a file name (floret,
    matplotlib): moved over ``path`` when the block ends, removed on an exception or
    interrupt. Parent folders are created."""
    file = AtomicFile(path, None, create_folder=True)
    try:
        yield Path(file.tmp)
    except BaseException:
        file.abort()
        raise
    file.commit()


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folders."""
    with atomic_output(path) as out:
        out.write(text)
    return Path(path)


@contextmanager
def atomic_output(path: PathLike, mode: str = "w") -> Iterator[IO]:
    """A file object for writing ``path`` that appears there only complete: the data
    goes to a hidden temporary file next to it, moved over ``path`` when the block ends;
    an exception or interrupt (also SIGTERM under the command line) removes it. The
    ``with`` form of :class:`AtomicFile` (parent folders created)."""
    file = AtomicFile(path, mode, create_folder=True)
    try:
        yield file.fh
    except BaseException:
        file.abort()
        raise
    file.commit()
