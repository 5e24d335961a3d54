"""Adds the ``rnn-ner`` commands to spaCy's command line: ``python -m spacy rnn-ner ...``.

spaCy loads the ``spacy_cli`` entry points (``registry.cli.get_all()`` in ``setup_cli``)
before it parses the command line; loading ``spacy_rnn_ner.cli.spacy_cli:app`` imports this
module, which registers the group once.
"""
from spacy.cli._util import app as spacy_app

from . import app

if all(info.typer_instance is not app for info in spacy_app.registered_groups):
    spacy_app.add_typer(app)

__all__ = ["app"]
