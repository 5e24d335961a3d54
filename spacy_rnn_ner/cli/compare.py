"""``compare``: one Markdown table comparing NER systems from `spacy evaluate` or
`report` JSON files."""
from pathlib import Path
from typing import List, Optional

import typer

from ._util import Arg, Opt, app, multi_value_command


@app.command("compare", cls=multi_value_command("--names"))
def compare_cli(
    scores: List[Path] = Arg(..., metavar="SCORES...",
                             help="JSON score files (spacy evaluate or report_NAME.json)."),
    names: Optional[List[str]] = Opt(None, "--names", help="System names, one per file "
                                     "(default: the file stems): --names A B C."),
    output: Optional[Path] = Opt(None, "--output", help="Markdown file to write the table to."),
    seeds: bool = Opt(False, "--seeds", help="Files with the same name are runs (seeds) of one "
                      "system: one row of mean ± sample standard deviation."),
    by_type: bool = Opt(False, "--by-type", help="Also a table of P / R / F1 per entity type."),
    source: Optional[str] = Opt(None, "--source", help="The scores of one source's documents "
                                "(e.g. ng; from the by_source part of report_NAME.json files)."),
) -> None:
    """One row per system: micro P/R/F1, macro F1, F1 per type and words/s."""
    from ..report.compare import write_compare

    typer.echo(write_compare(scores, names, output, seeds, by_type, source,
                             warn=lambda message: typer.echo(f"warning: {message}", err=True)), nl=False)
