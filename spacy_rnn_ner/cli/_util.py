"""The typer app that holds the package's commands (``python -m spacy_rnn_ner ...``)."""
import typer

app = typer.Typer(name="rnn-ner", no_args_is_help=True)
