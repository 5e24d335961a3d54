"""Every file the package reads or writes goes through here: UTF-8 text (a byte-order
mark is allowed, a NUL byte is not), JSON, JSON lines, spaCy DocBin (``.spacy``), atomic
writes (:mod:`spacy_rnn_ner.outputs`: a file or folder appears complete or not at all,
all outputs of a command together), and the checks of paths before work starts
(:func:`check_outputs`). Every failure is an :class:`~spacy_rnn_ner.errors.InputError`
naming the file (and the line or byte offset).
"""
import codecs
import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .errors import InputError, PathLike, UserError
from .file_kinds import FileKind, kind_refusal
from .outputs import (  # noqa: F401 (the writers of every output, used through this module)
    AtomicFile,
    AtomicFolder,
    atomic_folder,
    atomic_output,
    atomic_path,
    file_kind,
    new_file_mode,
    not_a_regular_file,
    outputs_one_by_one,
    outputs_together,
    write_target,
    written_path,
)


#: the reason given for JSON nested deeper than Python's recursion limit
TOO_DEEP = "JSON nested too deeply to be read"


def read_bytes(path: PathLike) -> bytes:
    """The bytes of a file; a missing file, a folder, a pipe or device, or an unreadable
    file is an :class:`InputError` naming it."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, expected a file", path)
    if file_kind(path):
        raise not_a_regular_file(path)
    if not path.is_file():
        raise InputError("no such file", path)
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot be read ({err.strerror or err})", path) from err


#: why text holding a NUL byte is refused (UTF-16 without a byte-order mark looks like
#: ASCII with a NUL byte after every Latin character, space and line end)
NUL_REASON = "UTF-16 or binary data"


def decode_text(data: bytes) -> str:
    """``data`` decoded as UTF-8 text; invalid UTF-8 raises ``UnicodeDecodeError``, and so
    does a NUL byte (``reason`` :data:`NUL_REASON`). The one check of every text reader
    (whole files: :func:`decode_utf8`; lines: :func:`parse_json_line`, annotate's
    readers); say what is wrong with :func:`describe_decode_error`."""
    text = data.decode("utf-8")
    nul = data.find(b"\0")
    if nul >= 0:
        raise UnicodeDecodeError("utf-8", data, nul, nul + 1, NUL_REASON)
    return text


def describe_decode_error(err: UnicodeDecodeError, offset: Optional[int] = None) -> str:
    """What :func:`decode_text` refused: ``not UTF-8 (byte 0xd2 at offset N)`` (a file:
    ``offset`` in it), ``not UTF-8 (invalid start byte at byte N)`` (a line), or ``not UTF-8
    text (a NUL byte at offset N: UTF-16 or binary data)``."""
    at = f"at offset {offset}" if offset is not None else f"at byte {err.start}"
    if err.reason == NUL_REASON:
        return f"not UTF-8 text (a NUL byte {at}: {NUL_REASON})"
    if offset is not None:
        return f"not UTF-8 (byte 0x{err.object[err.start]:02x} {at})"
    return f"not UTF-8 ({err.reason} {at})"


def decode_utf8(data: bytes, path: PathLike) -> str:
    """``data`` decoded as UTF-8 (:func:`decode_text`) without a leading byte-order mark;
    anything else raises ``PATH: not UTF-8 (byte 0xd2 at offset N)`` (offset in the file,
    in bytes) or ``PATH: not UTF-8 text (a NUL byte at offset N: ...)``."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return decode_text(data[start:])
    except UnicodeDecodeError as err:
        raise InputError(describe_decode_error(err, start + err.start), path) from None


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


def _object_without_repeated_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    """A JSON object's ``dict``; a key given twice (``json`` would keep the last value
    and drop the first without a word) is an :class:`InputError`."""
    obj: Dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise InputError(f"the key {key!r} appears twice in one JSON object (which value is meant?)")
        obj[key] = value
    return obj


def parse_json_line(line: Union[str, bytes]) -> Dict[str, Any]:
    """The JSON object on one line of a JSON-lines file; anything else (bytes that are
    not UTF-8, not JSON, not an object) is an :class:`InputError` saying why (the caller
    adds the file and line)."""
    if isinstance(line, bytes):
        try:
            line = decode_text(line)
        except UnicodeDecodeError as err:
            raise InputError(describe_decode_error(err)) from None
    try:
        record = json.loads(line, object_pairs_hook=_object_without_repeated_keys)
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


def check_exists(path: PathLike, kind: str = "any") -> Path:
    """``path`` if it exists (``kind``: ``"file"``, ``"dir"`` or ``"any"``), else an
    :class:`InputError` naming it; a pipe or device given as a file is one too."""
    path = Path(path)
    if kind == "file" and file_kind(path):
        raise not_a_regular_file(path)
    if not path.exists():
        raise InputError("no such file or folder", path)
    if kind == "file" and not path.is_file():
        raise InputError("is a folder, expected a file", path)
    if kind == "dir" and not path.is_dir():
        raise not_a_folder(path)
    return path


def not_a_folder(path: PathLike) -> InputError:
    """The error for a file (or pipe, device) given where a folder is expected."""
    return InputError(f"is {file_kind(path) or 'a file'}, expected a folder", path)


def check_writable(path: PathLike) -> Path:
    """Make sure a file can be written at ``path`` before any work is done: not a folder,
    not a pipe, device or socket (also through a link: a link to a regular file is
    written through), under a folder (existing or to be created) that can be written;
    else an :class:`InputError` naming it. Creates nothing."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, expected a file name to write", path)
    if file_kind(path):
        raise not_a_regular_file(path, "output")
    target = write_target(path)
    if target.exists() and not os.access(target, os.W_OK):
        raise InputError("not writable", path)
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise not_a_folder(folder)
    if not os.access(folder, os.W_OK):
        raise InputError("not writable (its folder cannot be written)", path)
    return path


def files_with_suffix(folder: PathLike, suffixes: Sequence[str] = (".txt",),
                      recursive: bool = True) -> List[Path]:
    """The files under the input ``folder`` (recursively by default, sorted) whose suffix
    is one of ``suffixes`` in any case (``A.TXT`` is a ``.txt`` file): the one listing of
    an input folder. An entry with such a suffix that cannot be read as a file (a named
    pipe, device or socket, a link to nothing) is an :class:`InputError` naming it, not
    left out without a word; a folder with such a name is looked into."""
    wanted = {s.lower() for s in suffixes}
    found = Path(folder).rglob("*") if recursive else Path(folder).glob("*")
    files = []
    for path in found:
        if path.suffix.lower() not in wanted or path.is_dir():
            continue
        if not path.is_file():
            raise unreadable_entry(path, folder)
        files.append(path)
    return sorted(files)


def unreadable_entry(path: Path, folder: PathLike) -> InputError:
    """The error for an entry of an input folder that is not a regular file."""
    kind = file_kind(path)
    if kind is not None:
        return InputError(f"is {kind} in the input folder {folder}, not a regular file: remove "
                          "it, or save its data to a file", path)
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as err:
            if err.errno == errno.ELOOP:
                return InputError(f"is a loop of symbolic links in the input folder {folder}: "
                                  "fix or remove it", path)
        return InputError(f"is a link to {os.readlink(path)}, which does not exist (in the input "
                          f"folder {folder}): fix or remove it", path)
    return InputError(f"cannot be read (in the input folder {folder})", path)


def _same_path(a: Path, b: Path) -> bool:
    """Whether two resolved paths name the same file (also through a hard link)."""
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


@dataclass(frozen=True)
class OutputFolder:
    """A folder a command fills and replaces as a whole (:func:`~spacy_rnn_ner.outputs.
    atomic_folder`): ``command`` names the writer in messages, ``is_earlier_output`` tells
    a folder it wrote before (which may be replaced); any other non-empty folder is
    refused by :func:`check_outputs`, so a pipeline or the user's files are never lost.
    ``is_own_entry`` tells an entry the command writes, so that the refusal names the
    others."""

    path: Path
    command: str = "this command"
    is_earlier_output: Optional[Callable[[Path], bool]] = None
    is_own_entry: Optional[Callable[[Path], bool]] = None


@dataclass(frozen=True)
class OutputFile:
    """An output file of a known :class:`~spacy_rnn_ner.file_kinds.FileKind`: its name
    must end in the kind's suffix (if it has one), and an existing file there must hold
    that kind (an earlier output) or be empty, else :func:`check_outputs` refuses it."""

    path: Path
    kind: Optional[FileKind]


def _entries(folder: Path) -> List[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def check_replaceable(folder: OutputFolder) -> None:
    """An :class:`InputError` unless ``folder.path`` is missing, empty or an earlier
    output of ``folder.command``."""
    path = Path(folder.path)
    if not os.path.lexists(path):
        return
    if not path.is_dir():
        raise not_a_folder(path)
    entries = _entries(path)
    if not entries or (folder.is_earlier_output is not None and folder.is_earlier_output(path)):
        return
    if folder.is_own_entry is not None:  # name the entries that are not the command's
        entries = [e for e in entries if not folder.is_own_entry(path / e)] or entries
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    raise InputError(f"holds files that are not an earlier output of {folder.command} ({shown}): "
                     "the folder is replaced as a whole; give a new or empty folder", path)


#: at most this many entries of an input folder are looked at for links to an output
MAX_SCANNED = 1_000_000


def _link_to_outputs(folder: Path, targets: List[Tuple[Path, Path]]
                     ) -> Optional[Tuple[Path, Path]]:
    """``(entry, output)``: an entry under the input ``folder`` that is a symbolic link
    leading to an output (or to a folder holding it), or a hard link of an output file;
    ``None`` when there is none. ``targets``: ``(output as given, resolved)``."""
    inodes = {}
    for given, target in targets:
        try:
            info = os.stat(target)
            if stat.S_ISREG(info.st_mode):
                inodes[(info.st_dev, info.st_ino)] = given
        except OSError:
            pass
    stack, seen = [folder], 0
    while stack and seen < MAX_SCANNED:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                if entry.is_symlink():
                    real = Path(os.path.realpath(entry.path))
                    for given, target in targets:
                        if real == target or real in target.parents:
                            return Path(entry.path), given
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif inodes and entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    if (info.st_dev, info.st_ino) in inodes:
                        return Path(entry.path), inodes[(info.st_dev, info.st_ino)]
            except OSError:
                continue
    return None


def check_outputs(outputs: Iterable[Optional[Union[PathLike, OutputFile]]],
                  inputs: Iterable[Optional[PathLike]] = (),
                  folders: Iterable[Optional[Union[PathLike, OutputFolder]]] = (),
                  scratch: Iterable[Optional[PathLike]] = ()) -> List[Path]:
    """The one rule for the paths a command writes, checked before any work starts. An
    output file (``outputs``), output folder (``folders``: filled and replaced as a whole)
    or scratch folder (``scratch``: written into, e.g. a cache) may not be an input (the
    same file or folder), another output of the same run, or inside an input folder (a
    corpus or model the command reads), and no link (or hard link) inside an input folder
    may lead to it (the command would read its own output), nor inside an output folder
    (which is replaced as a whole: it would be lost). An output folder may not hold an
    input, and must be missing, empty, or an earlier output of the command
    (:class:`OutputFolder`; a plain path: missing or empty). An :class:`OutputFile` must
    have its kind's suffix, and an existing file there must hold that kind or be empty
    (:func:`~spacy_rnn_ner.file_kinds.kind_refusal`: a data file given where an output
    goes is never replaced). An input that is a pipe,
    device or socket is refused (commands read regular files). Each output file must be
    writable and a regular file if it exists (:func:`check_writable`). ``None`` entries
    are ignored. Every refusal is an :class:`InputError` naming both paths. Returns the
    output files."""
    given_inputs = [(Path(p), Path(p).resolve()) for p in inputs if p is not None]
    for given, _ in given_inputs:
        if file_kind(given):  # commands read regular files only
            raise not_a_regular_file(given)
    typed = [p if isinstance(p, OutputFile) else OutputFile(Path(p), None)
             for p in outputs if p is not None]
    files = [Path(p.path) for p in typed]
    whole = [f if isinstance(f, OutputFolder) else OutputFolder(Path(f))
             for f in folders if f is not None]
    caches = [Path(p) for p in scratch if p is not None]
    written = [(p, write_target(p).resolve()) for p in [*files, *(Path(f.path) for f in whole), *caches]]
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
    for folder in whole:
        target = Path(folder.path).resolve()
        for given, source in given_inputs:
            if target in source.parents:
                raise InputError(f"output folder would replace the input {given}, which is "
                                 "inside it", folder.path)
        for output, written_target in written:
            if target in written_target.parents:
                raise InputError(f"output would be written inside the output folder "
                                 f"{folder.path}, which is replaced as a whole (it would be "
                                 "lost); give a path outside it", output)
    for given, source in given_inputs:
        if source.is_dir():
            found = _link_to_outputs(source, written)
            if found is not None:
                link, output = found
                shown = given / link.relative_to(source)
                raise InputError(f"output would be read as an input: {shown} in the input "
                                 f"folder {given} leads to it", output)
    for output in typed:
        check_writable(output.path)
        if output.kind is not None:
            refusal = kind_refusal(Path(output.path), output.kind, write_target(output.path))
            if refusal is not None:
                raise InputError(refusal, output.path)
    for folder in whole:
        check_replaceable(folder)
    for cache in caches:
        if cache.exists() and not cache.is_dir():
            raise not_a_folder(cache)
    return files


def check_utf8_file(path: PathLike, chunk_size: int = 1 << 20) -> Path:
    """Check that a (possibly huge) file is UTF-8 text (:func:`decode_text`: no NUL byte)
    without reading it whole; else an :class:`InputError` naming it and the first bad
    byte's offset."""
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
                raise InputError(describe_decode_error(err, offset - buffered + err.start),
                                 path) from None
            nul = chunk.find(b"\0")
            if nul >= 0:
                err = UnicodeDecodeError("utf-8", chunk, nul, nul + 1, NUL_REASON)
                raise InputError(describe_decode_error(err, offset + nul), path)
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


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folders."""
    with atomic_output(path) as out:
        out.write(text)
    return Path(path)
