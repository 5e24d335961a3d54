"""What every ``rnn-ner`` command shares: the typer ``app``, the ``Arg``/``Opt`` shorthands
and one error convention.

A command is a module of this package that does ``from ._util import app, Arg, Opt`` and
decorates a function with ``@app.command("name")``; importing the module in
``cli/__init__.py`` is all it takes to add it to ``python -m spacy_rnn_ner`` and
``python -m spacy rnn-ner``.

Errors: a command raises :class:`~spacy_rnn_ner.errors.UserError` (``InputError``,
``MissingDependency``) or lets an ``OSError`` through, or calls :func:`fail`; the group
prints ``error: MESSAGE`` on one line (the message names the file and what is wrong) and
exits with status 1, without a traceback. Usage errors (unknown command or option, bad
value) also exit with 1. SIGTERM (and SIGHUP, SIGQUIT) interrupt a command as Ctrl-C does, so
the clean-up of a half-written output runs; any of them prints ``error: stopped by signal
N`` and the status is 128 + N. The outputs of a command appear together when it succeeds
(:func:`~spacy_rnn_ner.outputs.outputs_together`): a failed or interrupted command leaves
the previous outputs as they were, never part of a new set. Long calls into native code (floret) run in a child
process, so that an interrupt stops them at once.
"""
import os
import signal
import sys
from contextlib import contextmanager
from typing import Any, Iterator, List, NoReturn, Optional, Sequence, Tuple, Type

import typer
from typer.core import TyperCommand, TyperGroup

from ..errors import InputError, UserError, describe_os_error
from ..machine import WORKERS_PER_CORE, worker_cap
from ..outputs import outputs_together
from ..startup import end_of_startup, quiet_after_the_command

# click's UsageError as typer raises it (recent typer versions vendor their own click)
UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")

NAME = "rnn-ner"
COMMAND = "python -m spacy_rnn_ner"
HELP = """Commands of spacy-rnn-ner: data converters, evaluation reports, comparisons,
pretraining text and vectors. Also available as `python -m spacy rnn-ner ...`."""

Arg = typer.Argument
Opt = typer.Option


class Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP) raised as an interrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


TERMINATION_SIGNALS = ("SIGTERM", "SIGHUP", "SIGQUIT")


@contextmanager
def signal_handler(handler: Any) -> Iterator[None]:
    """While the block runs (in the main thread), ``handler`` handles SIGTERM and SIGHUP;
    the previous handlers come back afterwards."""
    previous = {}
    for name in TERMINATION_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread
            pass
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def signals_interrupt() -> Any:
    """SIGTERM and SIGHUP raise :class:`Terminated` (a ``KeyboardInterrupt``), so
    ``finally``/``except`` clean-ups (temporary files) run as on Ctrl-C."""
    return signal_handler(_raise_terminated)


def check_workers(option: str, value: int, what: str = "worker processes") -> int:
    """``value`` if at most :func:`worker_cap`, else an :class:`InputError` naming
    ``option``."""
    cap = worker_cap()
    if value > cap:
        raise InputError(f"{option} {value}: at most {cap} {what} on this machine "
                         f"({WORKERS_PER_CORE} per CPU core, {os.cpu_count() or 1} cores)")
    return value


def check_lang(lang: str) -> str:
    """``lang`` if spaCy has that language, else an :class:`InputError` (typer callback
    of every ``--lang`` option)."""
    from spacy.util import get_lang_class

    try:
        get_lang_class(lang)
    except ImportError:
        raise InputError(f"--lang {lang}: not a language spaCy knows (e.g. uk, en, xx)") \
            from None
    return lang


def lang_option(default: str) -> Any:
    """A ``--lang`` option whose value is checked before the command runs."""
    return Opt(default, "--lang", callback=check_lang, help="spaCy language code.")


def fail(message: str) -> NoReturn:
    """Print ``error: MESSAGE`` to stderr and exit with status 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


class Group(TyperGroup):
    """A command group that applies the error convention to every command in it."""

    def resolve_command(self, ctx: Any, args: List[str]) -> Tuple[Optional[str], Any, List[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            raise UsageError(f"unknown command {name!r} (commands: "
                             f"{', '.join(self.list_commands(ctx))})", ctx)
        return super().resolve_command(ctx, args)

    def parse_args(self, ctx: Any, args: List[str]) -> List[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as err:  # e.g. no command: help, then status 1
            err.exit_code = 1
            raise

    def invoke(self, ctx: Any) -> Any:
        end_of_startup()  # Ctrl-C raises KeyboardInterrupt again, for the clean-ups below
        try:
            with signals_interrupt(), outputs_together():
                return super().invoke(ctx)
        except KeyboardInterrupt as err:  # Ctrl-C, or Terminated (SIGTERM, SIGHUP)
            quiet_after_the_command()  # a second Ctrl-C now: the same line, no traceback
            signum = int(getattr(err, "signum", signal.SIGINT))
            typer.echo(f"error: stopped by signal {signum}", err=True)
            raise typer.Exit(128 + signum)
        except UsageError as err:
            err.exit_code = 1
            raise
        except UserError as err:
            fail(str(err))
        except OSError as err:
            fail(describe_os_error(err))
        except UnicodeDecodeError as err:  # a reader that does not name its file
            fail(f"an input file is not UTF-8 (byte 0x{err.object[err.start]:02x} at "
                 f"offset {err.start})")
        finally:
            quiet_after_the_command()  # Ctrl-C during the interpreter's shutdown: one line


def multi_value_command(*options: str) -> Type[TyperCommand]:
    """A command class whose ``options`` also take several values after one flag, as
    argparse's ``nargs="+"`` did (``--names A B C`` = ``--names A --names B --names C``);
    declare them as ``List[str]`` options."""

    class MultiValueCommand(TyperCommand):
        def parse_args(self, ctx: Any, args: List[str]) -> List[str]:
            return super().parse_args(ctx, expand_multi_values(args, options))

    return MultiValueCommand


def expand_multi_values(args: Sequence[str], options: Sequence[str]) -> List[str]:
    """Repeat each flag in ``options`` before every value that follows it (up to the
    next token starting with ``-``)."""
    out: List[str] = []
    flag: Optional[str] = None
    n_values = 0
    arg: Optional[str]
    for arg in [*args, None]:  # None closes the last flag
        if flag is not None and (arg is None or arg in options or arg.startswith("-")):
            if n_values == 0:
                out.append(flag)  # a flag without values: click reports it
            flag = None
        if arg in options:
            flag, n_values = arg, 0
        elif flag is not None:
            out += [flag, arg]
            n_values += 1
        elif arg is not None:
            out.append(arg)
    return out


app = typer.Typer(name=NAME, help=HELP, cls=Group, no_args_is_help=True,
                  add_completion=False, rich_markup_mode=None)


def run(argv: Optional[Sequence[str]] = None, prog_name: str = COMMAND) -> int:
    """Run the ``rnn-ner`` commands on ``argv`` (default ``sys.argv[1:]``); returns the
    exit status instead of exiting."""
    command = typer.main.get_command(app)
    try:
        command.main(args=list(sys.argv[1:] if argv is None else argv), prog_name=prog_name)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
