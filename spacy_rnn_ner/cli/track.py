"""``track``: log the test scores and report files to the training run in MLflow."""
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..report.tracking import DEFAULT_TRACKING_URI, log_results
from ._util import app


TRUE = ("1", "true", "yes", "on", "y", "t")
FALSE = ("0", "false", "no", "off", "n", "f")


def parse_bool(value: str, option: str = "--enabled") -> bool:
    """A boolean option value; anything but the words of ``TRUE``/``FALSE`` (any case) is
    a usage error, never silently false."""
    word = value.strip().lower()
    if word in TRUE or word in FALSE:
        return word in TRUE
    raise typer.BadParameter(f"{value!r} is not a boolean (true or false)", param_hint=option)


@app.command("track")
def track_cli(
    run_id_file: Path = typer.Argument(..., help="File holding the MLflow run id (written by spacy_rnn_ner.TrackingLogger.v1)"),
    scores: Optional[Path] = typer.Option(None, "--scores", help="`spacy evaluate` JSON; logged as test_* metrics"),
    artifacts: Optional[List[Path]] = typer.Option(None, "--artifact", "-a", help="File to log under report/ (repeatable)"),
    tracking_uri: str = typer.Option(DEFAULT_TRACKING_URI, "--tracking-uri", help="MLflow tracking URI"),
    enabled: str = typer.Option("true", "--enabled", metavar="BOOLEAN", help="true/false (also 1/0, yes/no, on/off): false does nothing (the project's `tracking` variable)"),
) -> None:
    """Log final test scores and report files (Markdown, plots, HTML) to the training's MLflow run."""
    if not parse_bool(enabled):
        msg.info("tracking is off: nothing logged")
        return
    run_id, n_metrics, n_artifacts = log_results(run_id_file, tracking_uri, scores, artifacts or [])
    msg.good(f"MLflow run {run_id}: {n_metrics} test metrics, {n_artifacts} artifacts logged ({tracking_uri})")
