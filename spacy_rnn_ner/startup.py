"""Ctrl-C while ``python -m spacy_rnn_ner`` is still importing (torch and spaCy take
seconds): one line, ``error: stopped by signal 2``, and status 130, as once a command runs
(``cli/_util.py``), instead of a traceback through the imports. Only that command line is
concerned: importing the package anywhere else leaves the signal handlers alone. Imports
nothing heavy: the package imports it first.
"""
import os
import signal
import sys
import threading
from typing import Any

COMMAND_MODULES = ("spacy_rnn_ner", "spacy_rnn_ner.__main__")


def is_command_line() -> bool:
    """Whether this process is ``python [options] -m spacy_rnn_ner ...``."""
    argv = list(getattr(sys, "orig_argv", []))
    for i, arg in enumerate(argv[1:], start=1):
        if arg == "-m":
            return i + 1 < len(argv) and argv[i + 1] in COMMAND_MODULES
        if arg.startswith("-m"):
            return arg[2:] in COMMAND_MODULES
        if arg in ("-c", "-") or not arg.startswith("-"):
            return False  # a script or -c: not the command line
    return False


def _stopped(signum: int, frame: Any) -> None:
    try:
        sys.stderr.write(f"error: stopped by signal {signum}\n")
        sys.stderr.flush()
    finally:
        os._exit(128 + signum)  # nothing is written yet: no clean-up to run


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
