"""``vectors``: floret vectors trained on a tokenized text file, for
``spacy init vectors LANG FILE DIR --mode floret`` (needs spacy-rnn-ner[vectors])."""
import time
from pathlib import Path
from typing import Optional

import typer

from ..resources.pretrained_vectors import DEFAULT_PRUNE, DEFAULT_TRUNCATE
from ..resources.vectors import DEFAULT_THREADS
from ..file_kinds import FLORET, VECTORS_RECORD
from ..io import OutputFile, OutputFolder, atomic_folder, check_outputs, write_text, written_path
from ._util import Arg, Opt, app, check_workers, lang_option


@app.command("vectors")
def vectors_cli(
    text: Path = Arg(..., metavar="TEXT", help="Tokenized text, one sentence per line."),
    output: Path = Arg(..., metavar="OUTPUT", help="Output .floret file."),
    dim: int = Opt(100, "--dim", min=1, help="Vector width."),
    epoch: int = Opt(10, "--epoch", min=1, help="Training epochs over the text."),
    bucket: int = Opt(50000, "--bucket", min=1, help="Hash buckets (rows)."),
    min_count: int = Opt(2, "--min-count", min=1, help="Minimal word frequency."),
    threads: int = Opt(DEFAULT_THREADS, "--threads", min=1,
                       help="Worker threads (1: the same bytes every run; more: faster, not reproducible)."),
    seed: Optional[int] = Opt(None, "--seed",
                              help="Shuffle the text's lines with this seed first (floret itself takes no seed)."),
) -> None:
    """Train CBOW floret vectors (subword hashing: no word is out of vocabulary)."""
    from ..resources.vectors import train_floret_vectors

    check_workers("--threads", threads, "threads")
    start = time.time()
    train_floret_vectors(text, output, dim=dim, epoch=epoch, bucket=bucket,
                         min_count=min_count, threads=threads, seed=seed)
    typer.echo(f"wrote {output} ({dim}-d floret vectors) in {time.time() - start:.0f} s")


@app.command("vectors-import")
def vectors_import_cli(
    source: str = Arg(..., metavar="SOURCE",
                      help="'local' (floret trained on --text), 'cc.uk.300' or a .vec/.vec.gz/.bin file."),
    output: Path = Arg(..., metavar="OUTPUT_DIR", help="spaCy vectors folder (for --paths.vectors)."),
    lang: str = lang_option("uk"),
    prune: int = Opt(DEFAULT_PRUNE, "--prune", help="Pretrained: rows kept (others map to the nearest; -1: all)."),
    truncate: int = Opt(DEFAULT_TRUNCATE, "--truncate", min=0,
                        help="Pretrained: rows read from the file, most frequent first (0: all)."),
    text: Path = Opt(Path("resources/pretrain.txt"), "--text", help="local: the pretraining text."),
    floret_file: Path = Opt(Path("resources/vectors.floret"), "--floret", help="local: the .floret file written."),
    epoch: int = Opt(10, "--epoch", min=1, help="local: floret epochs."),
    threads: int = Opt(DEFAULT_THREADS, "--threads", min=1, help="local: floret threads (1: reproducible)."),
    seed: Optional[int] = Opt(None, "--seed", help="local: shuffle the text's lines with this seed."),
    record: Optional[Path] = Opt(None, "--record", help="JSON file naming the vectors' source (metrics/vectors.json)."),
) -> None:
    """Build the spaCy vectors table from local floret vectors or from pretrained ones.
    OUTPUT_DIR is replaced as a whole: it must be new, empty or an earlier output."""
    import srsly

    from ..resources.pretrained_vectors import (LOCAL, NAMED_SOURCES, describe_source, import_pretrained_vectors,
                                                init_vectors, is_vectors_folder)
    from ..resources.vectors import train_floret_vectors

    if source == LOCAL:
        check_workers("--threads", threads, "threads")
    start = time.time()
    local = source == LOCAL
    source_file = None if local else Path(NAMED_SOURCES[source][0]) if source in NAMED_SOURCES \
        else Path(source)
    check_outputs([OutputFile(floret_file, FLORET) if local else None,
                   None if record is None else OutputFile(record, VECTORS_RECORD)],
                  [text if local else None, source_file],
                  folders=[OutputFolder(output, "vectors-import", is_vectors_folder)])
    with atomic_folder(output) as folder:
        if local:
            train_floret_vectors(text, floret_file, epoch=epoch, threads=threads, seed=seed)
            init_vectors(lang, written_path(floret_file), folder, mode="floret")
            info = describe_source(LOCAL, epoch=epoch, threads=threads, seed=seed)
        else:
            info = import_pretrained_vectors(source, folder, lang, prune=prune, truncate=truncate,
                                             warn=lambda message: typer.echo(f"warning: {message}", err=True))
    if record is not None:
        write_text(record, srsly.json_dumps(info, indent=2) + "\n")
    typer.echo(f"wrote {output} from {source} vectors in {time.time() - start:.0f} s")
