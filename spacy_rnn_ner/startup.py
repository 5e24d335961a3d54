"""Ctrl-C while ``python -m spacy_rnn_ner`` (or ``python -m spacy rnn-ner``) is still
importing (torch and spaCy take seconds): one line, ``error: stopped by signal 2``, and
status 130, as once a command runs (``cli/_util.py``, which ends this when a command
starts), instead of a traceback through the imports. The same once the command has ended
(:func:`quiet_after_the_command`): a second Ctrl-C during the clean-up of an interrupted
run, or one during the interpreter's shutdown hooks, ends the process at once with that
line. Only that command line is concerned: importing the package anywhere else leaves the
signal handlers alone. Imports nothing heavy: the package imports it first.
"""
import os
import signal
import sys
import threading
from typing import Any

COMMAND_MODULES = ("spacy_rnn_ner", "spacy_rnn_ner.__main__")
#: ``python -m spacy rnn-ner ...``: spaCy's command line running this package's commands
SPACY_GROUP = ("spacy", "rnn-ner")


def is_command_line() -> bool:
    """Whether this process is ``python [options] -m spacy_rnn_ner ...`` (or ``-m spacy
    rnn-ner ...``)."""
    argv = list(getattr(sys, "orig_argv", []))
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-m"):
            module, rest = (argv[i + 1: i + 2], argv[i + 2:]) if arg == "-m" else ([arg[2:]], argv[i + 1:])
            return bool(module) and (module[0] in COMMAND_MODULES
                                     or (module[0], rest[0] if rest else None) == SPACY_GROUP)
        if arg in ("-c", "-") or not arg.startswith("-"):
            return False  # a script or -c: not the command line
        i += 2 if arg in ("-X", "-W") else 1  # options with a value
    return False


def _stopped(signum: int, frame: Any) -> None:
    try:
        try:
            sys.stdout.flush()
        except Exception:
            pass
        sys.stderr.write(f"error: stopped by signal {signum}\n")
        sys.stderr.flush()
    finally:
        os._exit(128 + signum)  # nothing is being written: no clean-up to run


def quiet_startup_interrupts() -> None:
    """On the command line, make Ctrl-C during the imports end the process with the
    one-line message (unless Ctrl-C is ignored, as under ``nohup``)."""
    if (is_command_line() and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
        signal.signal(signal.SIGINT, _stopped)


def end_of_startup() -> None:
    """The imports are done: Ctrl-C raises ``KeyboardInterrupt`` again, for the command's
    own clean-up."""
    if signal.getsignal(signal.SIGINT) is _stopped:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def quiet_after_the_command() -> None:
    """The command has ended (its outputs are in place, or were removed): on the command
    line, Ctrl-C, SIGTERM, SIGHUP and SIGQUIT from now on end the process at once with
    ``error: stopped by signal N`` and status 128 + N, instead of a traceback from the
    interpreter's shutdown hooks (atexit, finalizers, threads) or from a clean-up that a
    second Ctrl-C interrupts. Signals that are ignored (``nohup``) stay ignored."""
    if not is_command_line() or threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _stopped)
