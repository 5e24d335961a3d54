"""How outputs appear: complete, or not at all.

- :class:`AtomicFile` (and :func:`atomic_output`, :func:`atomic_path`): a file written
  under a temporary name next to its path and moved over it at the end; an error or
  interrupt removes it, also during that move. A link is written through (its target
  is replaced, the link stays), as ``open()`` would; a pipe, device or socket is never
  replaced (:func:`file_kind`).
- :class:`AtomicFolder` (:func:`atomic_folder`): the same for a folder a command fills as
  a whole (the earlier folder is swapped out at the end).
- :func:`outputs_together`: every output of the block waits until the block ends, then
  all are moved into place at once: a command with several outputs (train/dev/test,
  word lists, report files) leaves the complete new set, or the previous set, never a
  mix. The command line wraps every command in it (``cli/_util.py``);
  :func:`outputs_one_by_one` opts out (checkpoints that must appear as they are made).
- :func:`interrupts_held`: Ctrl-C, SIGTERM, SIGHUP and SIGQUIT wait until the moves are done.
"""
import errno
import os
import shutil
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Callable, Iterator, List, Optional

from .errors import InputError, PathLike

#: the signals that interrupt a command (the command line makes SIGTERM, SIGHUP and SIGQUIT
#: (Ctrl-\\) raise as Ctrl-C does)
INTERRUPT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
                          if hasattr(signal, name))


def file_kind(path: PathLike) -> Optional[str]:
    """What ``path`` is when it exists but is neither a regular file nor a folder (links
    followed): ``"a named pipe"``, ``"a character device"``, ``"a block device"`` or ``"a
    socket"``; else ``None``. Commands read and write regular files only."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return None


def not_a_regular_file(path: PathLike, role: str = "input") -> InputError:
    """The error for a pipe (also ``<(...)``, ``/dev/fd/N``), device or socket given
    where a regular file is read (``role="input"``) or written (``"output"``)."""
    kind = file_kind(path) or "not a regular file"
    link = " (through a link)" if os.path.islink(path) else ""
    fix = ("save the data to a file and give its name" if role == "input"
           else "outputs are written to regular files only; give a file name")
    return InputError(f"is {kind}{link}, not a regular file: {fix}", path)


def new_file_mode(path: PathLike) -> int:
    """The permission bits a plain ``open(path, "w")`` would leave: an existing file's
    own, else ``0o666`` less the process's umask."""
    try:
        if os.path.isfile(path):
            return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_target(path: PathLike) -> Path:
    """Where writing ``path`` puts the data: the file a link at ``path`` leads to (as
    ``open()`` writes through a link), else ``path``. A loop of links is an
    :class:`InputError`."""
    path = Path(path)
    if not path.is_symlink():
        return path
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise InputError("is a loop of symbolic links", path) from None
    return Path(os.path.realpath(path))


# ------------------------------------------------------------------ held interrupts


@contextmanager
def interrupts_held() -> Iterator[None]:
    """While the block runs (in the main thread), Ctrl-C, SIGTERM and SIGHUP wait: the
    first one that came is delivered to the handler there was before when the block
    ends (an interrupt after the outputs were moved into place)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: List[int] = []
    previous = {}
    for signum in INTERRUPT_SIGNALS:
        try:
            previous[signum] = signal.signal(signum, lambda s, frame: caught.append(s))
        except (OSError, ValueError):
            pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        handler = previous.get(caught[0])
        if callable(handler):
            handler(caught[0], None)
        elif handler != signal.SIG_IGN:  # the default action
            os.kill(os.getpid(), caught[0])


# ------------------------------------------------------------------ outputs of one run

#: outputs written and waiting to be moved into place (inside :func:`outputs_together`)
_pending: Optional[List[Any]] = None
#: every temporary file or folder made inside :func:`outputs_together` and not yet moved
#: into place or removed: an error or interrupt anywhere in the block removes them, also
#: one that comes before the object that made it exists or has a ``try`` around it
_live: Optional[List[Any]] = None


def _made(item: Any, make: Callable[[], str]) -> None:
    """Set ``item.tmp`` to the temporary file or folder ``make()`` creates, with
    interrupts held until ``item`` is registered for removal (:data:`_live`): an
    interrupt can no longer fall between the two and leave it behind. The one place
    temporary outputs are created."""
    item.tmp = None
    with interrupts_held():
        item.tmp = make()
        if _live is not None:
            _live.append(item)


def _gone(item: Any) -> None:
    """``item``'s temporary file or folder was moved into place or removed."""
    if _live is not None and item in _live:
        _live.remove(item)


@contextmanager
def outputs_together() -> Iterator[None]:
    """Every output committed in the block (:class:`AtomicFile`, :class:`AtomicFolder`)
    waits, under its temporary name, until the block ends without an error; then all are
    moved into place with interrupts held. An error or interrupt removes them all. A
    nested block joins the outermost."""
    global _pending, _live
    if _pending is not None:
        yield
        return
    _pending = pending = []
    saved_live, _live = _live, []
    try:
        try:
            yield
        except BaseException:
            _pending = None
            with interrupts_held():  # a second Ctrl-C waits until all are removed
                _abort_all(pending + _live)
            raise
        _pending = None
        with interrupts_held():
            for i, item in enumerate(pending):
                try:
                    item.move_into_place()
                except BaseException:
                    _abort_all(pending[i:] + _live)
                    raise
    finally:
        _live = saved_live


@contextmanager
def outputs_one_by_one() -> Iterator[None]:
    """In the block, each output is moved into place when it is committed, also inside
    :func:`outputs_together` (checkpoints of a long run, resumable after an interrupt)."""
    global _pending
    saved, _pending = _pending, None
    try:
        yield
    finally:
        _pending = saved


def written_path(path: PathLike) -> Path:
    """Where what this run wrote to ``path`` can be read now: its temporary file or folder
    while it waits inside :func:`outputs_together`, else ``path``."""
    target = Path(os.path.realpath(path))
    for item in reversed(_pending or []):
        if Path(os.path.realpath(item.target)) == target:
            return Path(item.tmp)
    return Path(path)


def _abort_all(items: List[Any]) -> None:
    for item in list(items):
        try:
            item.abort()
        except OSError:
            pass


class _Committable:
    """What :class:`AtomicFile` and :class:`AtomicFolder` share: ``tmp`` is moved over
    ``target`` by :meth:`commit` (at once, or at the end of :func:`outputs_together`);
    :meth:`abort` removes it. A failure or interrupt during the commit aborts."""

    tmp: str
    target: Path

    def finish(self) -> None:
        """Make the written data durable before it is moved into place."""

    def move_into_place(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        try:
            self.finish()
            if _pending is not None:
                _pending.append(self)
                return
            with interrupts_held():
                self.move_into_place()
        except BaseException:
            self.abort()
            raise

    def __exit__(self, error_type, error, traceback) -> None:
        if error_type is None:
            self.commit()
        else:
            self.abort()


@contextmanager
def folder_not_writable(path: Path) -> Iterator[None]:
    """An ``OSError`` while making the temporary output beside ``path`` is an
    :class:`InputError` naming ``path`` (not the temporary name the user never gave)."""
    try:
        yield
    except OSError as err:
        reason = {PermissionError: "permission denied",
                  FileNotFoundError: "new files cannot be made there"}.get(type(err), err.strerror or str(err))
        raise InputError(f"cannot write an output in this folder ({reason})", path) from None


class AtomicFile(_Committable):
    """A file written under a temporary name next to ``path`` and moved over it by
    :meth:`commit` (``os.replace``, after ``fsync``); :meth:`abort` removes it, so an
    interrupted run never leaves a half-written file. The file gets the mode a plain
    ``open`` would give (:func:`new_file_mode`), not ``mkstemp``'s 0600; a link at
    ``path`` is written through (:func:`write_target`); a pipe, device or socket there is
    an :class:`InputError`. As a context manager it commits on success and aborts on an
    exception. ``create_folder``: create the parent folders (else a missing folder is an
    :class:`InputError`, before any work is done). ``mode=None``: no file object; another
    writer (a library that takes a file name) writes to :attr:`tmp`."""

    def __init__(self, path: PathLike, mode: Optional[str] = "wb",
                 create_folder: bool = False):
        self.path = Path(path)
        self.target = write_target(path)
        if file_kind(self.target):
            raise not_a_regular_file(self.path, "output")
        if create_folder:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        elif not self.target.parent.is_dir():
            raise InputError("output folder does not exist", self.path.parent)
        self.file_mode = new_file_mode(self.target)
        self.fh: Optional[IO] = None
        fds: List[int] = []

        def make() -> str:
            with folder_not_writable(self.path):
                fd, tmp = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.",
                                           suffix=".tmp")
            fds.append(fd)
            return tmp

        try:  # an interrupt held while the file is made comes at the end of _made
            _made(self, make)
            os.fchmod(fds[0], self.file_mode)
            if mode is None:
                os.close(fds[0])
            else:
                self.fh = os.fdopen(fds[0], mode, **({} if "b" in mode else {"encoding": "utf8"}))
        except BaseException:
            if self.fh is None and fds:
                with suppress(OSError):
                    os.close(fds[0])
            self.abort()
            raise

    def write(self, data: Any) -> int:
        return self.fh.write(data)

    def finish(self) -> None:
        if self.fh is not None:
            if not self.fh.closed:
                self.fh.flush()
                os.fsync(self.fh.fileno())
                self.fh.close()
        else:
            with open(self.tmp, "rb+") as written:
                os.fsync(written.fileno())
            os.chmod(self.tmp, self.file_mode)  # in case the writer made a new file

    def move_into_place(self) -> None:
        os.replace(self.tmp, self.target)
        _gone(self)

    def abort(self) -> None:
        if self.fh is not None:
            self.fh.close()
        if self.tmp is not None and os.path.lexists(self.tmp):
            os.unlink(self.tmp)
        _gone(self)

    def __enter__(self) -> "AtomicFile":
        return self


class AtomicFolder(_Committable):
    """A folder filled under a temporary name next to ``path`` (:attr:`tmp`, created
    with the mode ``mkdir`` would give) and put in its place by :meth:`commit`: an
    earlier folder there is moved aside, the new one renamed into place (with the earlier
    folder's mode, as :class:`AtomicFile` keeps a file's: a folder the user closed with
    ``chmod 700`` stays closed), the old one removed. Check first that an earlier folder may be replaced
    (:func:`spacy_rnn_ner.io.check_outputs` with an ``OutputFolder``)."""

    def __init__(self, path: PathLike):
        self.path = Path(path)
        self.target = Path(os.path.realpath(path))
        self.target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with folder_not_writable(self.path):
                _made(self, lambda: tempfile.mkdtemp(dir=self.target.parent, prefix=f".{self.target.name}.",
                                                     suffix=".tmp"))
            os.chmod(self.tmp, 0o777 & ~_umask())
        except BaseException:
            self.abort()
            raise

    def move_into_place(self) -> None:
        old = None
        if os.path.lexists(self.target):
            if self.target.is_dir():
                os.chmod(self.tmp, stat.S_IMODE(os.stat(self.target).st_mode))
            old = self.tmp + ".old"
            os.rename(self.target, old)
        try:
            os.rename(self.tmp, self.target)
        except BaseException:
            if old is not None:
                os.rename(old, self.target)  # the earlier folder stays
            raise
        _gone(self)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        _gone(self)

    def __enter__(self) -> "AtomicFolder":
        return self


@contextmanager
def atomic_output(path: PathLike, mode: str = "w") -> Iterator[IO]:
    """A file object for writing ``path`` that appears there only complete: the data
    goes to a hidden temporary file next to it, moved over ``path`` when the block ends;
    an exception or interrupt (also SIGTERM under the command line) removes it. The
    ``with`` form of :class:`AtomicFile` (parent folders created)."""
    with AtomicFile(path, mode, create_folder=True) as file:
        yield file.fh


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """A temporary file name next to ``path`` for a writer that takes a file name (floret,
    matplotlib): moved over ``path`` when the block ends, removed on an exception or
    interrupt. Parent folders are created."""
    with AtomicFile(path, None, create_folder=True) as file:
        yield Path(file.tmp)


@contextmanager
def atomic_folder(path: PathLike) -> Iterator[Path]:
    """A temporary folder next to ``path`` to fill (``spacy init vectors``, word lists):
    it replaces ``path`` when the block ends, and is removed on an exception or
    interrupt (:class:`AtomicFolder`)."""
    with AtomicFolder(path) as folder:
        yield Path(folder.tmp)


__all__ = ["AtomicFile", "AtomicFolder", "INTERRUPT_SIGNALS", "atomic_folder", "atomic_output",
           "atomic_path", "file_kind", "interrupts_held", "new_file_mode", "not_a_regular_file",
           "outputs_one_by_one", "outputs_together", "write_target", "written_path"]
