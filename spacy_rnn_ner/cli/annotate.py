"""``annotate``: run a trained pipeline over files (text, JSONL, .txt directory, DocBin, Parquet)."""
import sys
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..annotate.local import Summary, annotate_file, check_paths
from ..io import load_pipeline, require_gpu
from ._util import app, check_workers, fail


def print_summary(summary: Summary, output: Path) -> None:
    msg.table(summary.rows(), title=f"Annotated -> {output}", divider=True)


@app.command("annotate")
def annotate_cli(
    model: str = typer.Argument(..., help="Pipeline: package name or path"),
    input_path: Path = typer.Argument(..., help="Text file (one document per line), .jsonl ({'text': ...}), directory of .txt files, .spacy or .parquet"),
    output_path: Path = typer.Argument(..., help="Output: .jsonl, .spacy or .parquet (written atomically)"),
    batch_size: int = typer.Option(64, "--batch-size", "-b", min=1, help="Documents per nlp.pipe batch"),
    n_process: int = typer.Option(1, "--n-process", "-n", min=1, help="Processes for nlp.pipe (single-machine engine)"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU (Ray: any value >= 0 asks one GPU per actor)"),
    skip_bad_lines: bool = typer.Option(False, "--skip-bad-lines", help="Report and skip bad input lines instead of failing"),
    engine: str = typer.Option("spacy", "--engine", help="spacy (one machine, nlp.pipe) or ray (Ray Data)"),
    concurrency: int = typer.Option(2, "--concurrency", min=1, help="Ray: number of pipeline actors"),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray: cluster address (default: local Ray)"),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Progress bar (default: when stderr is a terminal)"),
) -> None:
    """Annotate documents from files with a trained pipeline; prints a summary."""
    if engine not in ("spacy", "ray"):
        fail(f"--engine must be spacy or ray, not {engine!r}")
    check_workers("--n-process", n_process)
    if engine == "ray" and not ray_address:  # a cluster has cores of its own
        check_workers("--concurrency", concurrency, "Ray actors")
    check_paths(input_path, output_path, model)  # before the model loads
    try:
        if engine == "ray":
            from ..annotate.ray import annotate_file_ray

            summary = annotate_file_ray(
                model, input_path, output_path, batch_size=batch_size, concurrency=concurrency,
                num_gpus=1 if gpu_id >= 0 else 0, ray_address=ray_address,
                skip_bad_lines=skip_bad_lines, progress=progress,
            )
        else:
            if gpu_id >= 0:
                require_gpu(gpu_id)
            nlp = load_pipeline(model)
            summary = annotate_file(
                nlp, input_path, output_path, batch_size=batch_size, n_process=n_process,
                skip_bad_lines=skip_bad_lines, progress=progress,
            )
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM/SIGHUP (cli._util.Terminated)
        print("interrupted: no output written", file=sys.stderr)
        raise typer.Exit(128 + getattr(err, "signum", 2))
    print_summary(summary, output_path)
