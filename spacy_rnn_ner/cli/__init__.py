"""Typer commands; importing a module registers its command on ``app``."""
from ._util import app
from . import annotate, track  # noqa: F401

__all__ = ["app"]
