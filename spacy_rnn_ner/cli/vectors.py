"""``vectors``: floret vectors trained on a tokenized text file, for
``spacy init vectors LANG FILE DIR --mode floret`` (needs spacy-rnn-ner[vectors])."""
import time
from pathlib import Path

import typer

from ._util import Arg, Opt, app, signals_default


@app.command("vectors")
def vectors_cli(
    text: Path = Arg(..., metavar="TEXT", help="Tokenized text, one sentence per line."),
    output: Path = Arg(..., metavar="OUTPUT", help="Output .floret file."),
    dim: int = Opt(100, "--dim", min=1, help="Vector width."),
    epoch: int = Opt(10, "--epoch", min=1, help="Training epochs over the text."),
    bucket: int = Opt(50000, "--bucket", min=1, help="Hash buckets (rows)."),
    min_count: int = Opt(2, "--min-count", min=1, help="Minimal word frequency."),
    threads: int = Opt(2, "--threads", min=1, help="Worker threads (1: deterministic)."),
) -> None:
    """Train CBOW floret vectors (subword hashing: no word is out of vocabulary)."""
    from ..resources.vectors import train_floret_vectors

    start = time.time()
    with signals_default():  # floret trains in native code: SIGTERM must not wait for it
        train_floret_vectors(text, output, dim=dim, epoch=epoch, bucket=bucket,
                             min_count=min_count, threads=threads)
    typer.echo(f"wrote {output} ({dim}-d floret vectors) in {time.time() - start:.0f} s")
