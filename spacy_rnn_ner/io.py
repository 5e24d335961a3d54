"""Every file the package reads or writes goes through here: UTF-8 text (a byte-order
mark is allowed), JSON, JSON lines, spaCy DocBin (``.spacy``), atomic writes (a file
appears complete or not at all), and the checks of paths before work starts. Every
failure is an :class:`~spacy_rnn_ner.errors.InputError` naming the file (and the line or
byte offset).
"""
import codecs
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .errors import InputError, PathLike, UserError


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


class AtomicFile:
    """A file written under a temporary name next to ``path`` and moved over it by
    :meth:`commit` (``os.replace``, after ``fsync``); :meth:`abort` removes it, so an
    interrupted run never leaves a half-written file. As a context manager it commits
    on success and aborts on an exception. ``create_folder``: create the parent folders
    (else a missing folder is an :class:`InputError`, before any work is done)."""

    def __init__(self, path: PathLike, mode: str = "wb", create_folder: bool = False):
        self.path = Path(path)
        if create_folder:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.parent.is_dir():
            raise InputError("output folder does not exist", self.path.parent)
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                        suffix=".tmp")
        self.fh: IO = os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf8"}))

    def write(self, data: Any) -> int:
        return self.fh.write(data)

    def commit(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
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


def files_with_suffix(folder: PathLike, suffixes: Sequence[str] = (".txt",),
                      recursive: bool = True) -> List[Path]:
    """The files under ``folder`` (recursively by default, sorted) whose suffix is one of
    ``suffixes`` in any case (``A.TXT`` is a ``.txt`` file)."""
    wanted = {s.lower() for s in suffixes}
    found = Path(folder).rglob("*") if recursive else Path(folder).glob("*")
    return sorted(p for p in found if p.suffix.lower() in wanted and p.is_file())


def check_not_input(output: PathLike, inputs: Iterable[Optional[PathLike]],
                    read_suffixes: Sequence[str] = (".txt",)) -> Path:
    """Refuse an ``output`` that would overwrite an input before any work is done: the
    same file as one of ``inputs``, or a file with one of ``read_suffixes`` inside an
    input folder (a folder input is read for such files, so the output would be read
    while written). ``None`` inputs are ignored."""
    output = Path(output)
    target = output.resolve()
    for given in inputs:
        if given is None:
            continue
        source = Path(given).resolve()
        if target == source:
            raise InputError(f"output would overwrite the input {given}", output)
        if source.is_dir() and source in target.parents \
                and target.suffix.lower() in {s.lower() for s in read_suffixes}:
            raise InputError(f"output would be written inside the input folder {given}, "
                             "which is read for such files", output)
    return output


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
