"""``pretrain-text``: tokenized raw text for the vectors, without files that overlap ner-uk
TEST documents (see :mod:`spacy_rnn_ner.pretraining_text`)."""
from pathlib import Path

import typer

from ..files import check_exists
from ._util import Arg, Opt, app


@app.command("pretrain-text")
def pretrain_text_cli(
    raw_dir: Path = Arg(..., metavar="RAW_DIR", help="Folder with raw *.txt files (searched recursively)."),
    ner_uk_dir: Path = Arg(..., metavar="NER_UK_DIR", help="ner-uk folder (holding v1.0/)."),
    output: Path = Arg(..., metavar="OUTPUT", help="Output text file."),
    lang: str = Opt("uk", "--lang", help="spaCy language of the tokenizer."),
    max_shared: int = Opt(5, "--max-shared", min=0, help="Drop a file sharing more than "
                          "this many 8-token shingles with a TEST document."),
) -> None:
    """Read every *.txt under RAW_DIR, drop files overlapping ner-uk TEST documents,
    tokenize the rest and write a line of space-separated tokens per input line."""
    from ..pretraining_text import build_pretraining_text

    check_exists(raw_dir, "dir")
    check_exists(ner_uk_dir, "dir")
    kept, n_tokens, n_dropped, dropped = build_pretraining_text(
        raw_dir, ner_uk_dir, output, lang, max_shared)
    typer.echo(f"kept {kept} files ({n_tokens:,} tokens), dropped {n_dropped} files that "
               f"overlap ner-uk TEST documents -> {output}")
    for name in dropped:
        typer.echo(f"  dropped: {name}")
