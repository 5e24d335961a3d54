"""``track``: log the test scores and report files to the training run in MLflow."""
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..report.tracking import DEFAULT_TRACKING_URI, log_results
from ._util import app


@app.command("track")
def track_cli(
    run_id_file: Path = typer.Argument(..., help="File holding the MLflow run id (written by spacy_rnn_ner.TrackingLogger.v1)"),
    scores: Optional[Path] = typer.Option(None, "--scores", help="`spacy evaluate` JSON; logged as test_* metrics"),
    artifacts: Optional[List[Path]] = typer.Option(None, "--artifact", "-a", help="File to log under report/ (repeatable)"),
    tracking_uri: str = typer.Option(DEFAULT_TRACKING_URI, "--tracking-uri", help="MLflow tracking URI"),
    enabled: str = typer.Option("true", "--enabled", help="true/false: false does nothing (the project's `tracking` variable)"),
) -> None:
    """Log final test scores and report files (Markdown, plots, HTML) to the training's MLflow run."""
    if enabled.strip().lower() not in ("1", "true", "yes", "on"):
        msg.info("tracking is off: nothing logged")
        return
    run_id, n_metrics, n_artifacts = log_results(run_id_file, tracking_uri, scores, artifacts or [])
    msg.good(f"MLflow run {run_id}: {n_metrics} test metrics, {n_artifacts} artifacts logged ({tracking_uri})")
