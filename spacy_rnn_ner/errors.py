"""Errors a user can fix: bad input files, bad arguments, missing optional packages.

One hierarchy: :class:`UserError`, the base, with :class:`InputError` (a bad file, line
or argument) and :class:`MissingDependency` (an optional package is not installed; raised
only by :func:`import_optional`). The command line prints each as one line,
``error: MESSAGE``, and exits with status 1 (no traceback); library callers get ordinary
exceptions (``InputError`` is a ``ValueError``, ``MissingDependency`` an ``ImportError``).
"""
import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Optional, Union

PathLike = Union[str, Path]


class UserError(Exception):
    """Base class of the errors the command line reports as one line."""


class InputError(UserError, ValueError):
    """A bad input file or argument. ``str(err)`` reads ``PATH:LINE: message`` (the parts
    that are known)."""

    def __init__(self, message: str, path: Optional[PathLike] = None,
                 line: Optional[int] = None):
        self.path = None if path is None else str(path)
        self.line = line
        self.message = message
        super().__init__(where(self.path, line) + message)


class MissingDependency(UserError, ImportError):
    """An optional package is not installed; the message names the extra to install.
    Raised by :func:`import_optional`."""

    def __init__(self, package: str, purpose: str, extra: str):
        self.package = package
        self.extra = extra
        super().__init__(f"{purpose} needs the '{package}' package: "
                         f"pip install 'spacy-rnn-ner[{extra}]'")


def import_optional(module: str, extra: str, purpose: str,
                    package: Optional[str] = None) -> ModuleType:
    """``module`` (an optional dependency) imported, or a :class:`MissingDependency`
    saying that ``purpose`` needs ``package`` (default: ``module``), installed with the
    ``extra`` of spacy-rnn-ner. The one way the package imports an optional dependency."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependency(package or module, purpose, extra) from err


def where(path: Optional[str], line: Optional[int] = None) -> str:
    """``"PATH:LINE: "``, ``"PATH: "`` or ``""``."""
    if path is None:
        return ""
    return f"{path}:{line}: " if line is not None else f"{path}: "


def describe_os_error(err: OSError) -> str:
    """``PATH: what is wrong`` for an ``OSError`` (file not found, permission...)."""
    if err.filename is None:
        return str(err)
    reason = {FileNotFoundError: "no such file or folder",
              IsADirectoryError: "is a folder, expected a file",
              NotADirectoryError: "not a folder",
              PermissionError: "permission denied"}.get(type(err))
    if isinstance(err, FileExistsError):
        reason = "already exists" if Path(err.filename).is_dir() else "is a file, expected a folder"
    return f"{err.filename}: {reason or err.strerror or err}"


def config_error(block: str, setting: str, message: str) -> ValueError:
    """A bad setting of a registered function (``block``: its registry name) as confection's
    ``ConfigValidationError`` (a ``ValueError``): ``spacy train`` and other spaCy commands
    print it as a config error, without a traceback. ``message`` is the whole sentence."""
    from confection import ConfigValidationError

    short = re.sub(r"^(?:" + re.escape(block) + r": |\[[^\]]*\] )", "", message)
    return ConfigValidationError(title=message, errors=[{"loc": [block, setting],
                                                         "msg": short}], show_config=False)
