"""``report``: evaluation report (Markdown, JSON, PNG plots, displaCy HTML) of one NER
pipeline on a gold DocBin."""
import re
from pathlib import Path
from typing import Optional

import typer

from ..io import OutputFile, check_outputs
from ._util import Opt, app


@app.command("report")
def report_cli(
    model: Path = Opt(..., "--model", help="Trained spaCy pipeline folder (sets doc.ents)."),
    data: Path = Opt(..., "--data", help="DocBin (.spacy) with gold entities."),
    output: Path = Opt(..., "--output", help="Output folder (created if needed)."),
    name: str = Opt(..., "--name", help="System name used in the file names."),
    scores: Optional[Path] = Opt(None, "--scores",
                                 help="JSON of `spacy evaluate --output` (for the speed)."),
    log: Optional[Path] = Opt(None, "--log", help="JSONL training log of "
                              "spacy.ConsoleLogger.v3 (for the curves)."),
    examples: int = Opt(5, "--examples", min=0, help="Example documents in the HTML."),
    gpu_id: int = Opt(-1, "--gpu-id", help="GPU to run the pipeline on (-1: CPU)."),
) -> None:
    """Per-type table, micro/macro scores, confusion matrix, training curves and displaCy
    examples in OUTPUT: report_NAME.{md,json}, confusion_NAME.png, curves_NAME.png,
    examples_NAME.html."""
    from ..report.metrics import per_type_table, source_tables
    from ..report.writer import no_gold_warning, report_files, write_report

    if not re.fullmatch(r"[\w.-]+", name) or name in (".", ".."):  # the report's links name its files
        raise typer.BadParameter(f"{name!r}: a plain name for the file names: letters, digits, "
                                 "'_', '.' and '-' (no space, no folder)", param_hint="--name")
    check_outputs([OutputFile(output / written, kind) for written, kind in report_files(name).items()],
                  [model, data, scores, log])
    report = write_report(model, data, output, name, scores, log, examples, gpu_id)
    typer.echo(per_type_table(report))
    if report.get("by_source"):
        typer.echo(source_tables(report))
    typer.echo(f"Report written to {output / f'report_{name}.md'}")
    warning = no_gold_warning(report, data)
    if warning:
        typer.echo(f"warning: {warning}", err=True)
