"""Matplotlib figures of the report (Agg backend, no display needed).

Training logs are the JSONL files written by ``spacy.ConsoleLogger.v3`` with
``output_file`` set: one JSON object per evaluation step,
``{"epoch": int, "step": int, "losses": {component: float},
"scores": {score_weights column: float}, "score": float}``, where the values
in ``scores`` are already multiplied by 100 (except ``speed``) and ``score``
is the weighted overall dev score as a fraction 0..1.
"""
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Tuple, Union

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from ..file_kinds import REPORT_PNG_METADATA  # noqa: E402
from .metrics import Confusion  # noqa: E402

CURVE_SCORES = ("ents_f", "ents_macro_f")


def _percent_scores(record: Dict[str, Any]) -> Dict[str, float]:
    """Dev scores of one log record in percent (``scores`` is x100; a raw ``other_scores`` is 0..1)."""
    if "scores" in record:
        return {key: float(value) for key, value in record["scores"].items() if value is not None}
    return {
        key: 100 * float(value)
        for key, value in record.get("other_scores", {}).items()
        if isinstance(value, (int, float))
    }


def training_series(
    records: List[Dict[str, Any]],
) -> Tuple[List[int], Dict[str, List[float]], Dict[str, List[float]]]:
    """Steps, loss per component and dev scores (percent) from log records.

    Scores plotted are ``ents_f`` and ``ents_macro_f`` when the log has them,
    otherwise the overall weighted ``score`` (x100).
    """
    steps = [int(record["step"]) for record in records]
    components = sorted({name for record in records for name in record.get("losses", {})})
    nan = float("nan")
    losses = {name: [float(record.get("losses", {}).get(name, nan)) for record in records] for name in components}
    percent = [_percent_scores(record) for record in records]
    scores = {key: [p.get(key, nan) for p in percent] for key in CURVE_SCORES if any(key in p for p in percent)}
    if not scores and any("score" in record for record in records):
        scores = {"score": [100 * float(record.get("score", nan)) for record in records]}
    return steps, losses, scores


def plot_curves(records: List[Dict[str, Any]], path: Union[str, Path, BinaryIO],
                title: str = "") -> Union[str, Path, BinaryIO]:
    """Loss per component (left) and dev scores (right) against training steps, saved as PNG
    (to a file name or a binary file object)."""
    steps, losses, scores = training_series(records)
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_loss, ax_score = fig.subplots(1, 2)
    for name, values in losses.items():
        ax_loss.plot(steps, values, marker=".", label=name)
    ax_loss.set(xlabel="step", ylabel="training loss", title="Loss per component")
    for name, values in scores.items():
        ax_score.plot(steps, values, marker=".", label=name)
    ax_score.set(xlabel="step", ylabel="dev score (%)", title="Dev score")
    for ax in (ax_loss, ax_score):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100, format="png", metadata=REPORT_PNG_METADATA)
    return path


def plot_confusion(confusion: Confusion, path: Union[str, Path, BinaryIO],
                   title: str = "") -> Union[str, Path, BinaryIO]:
    """Heat map of the entity-type confusion matrix, saved as PNG. Cells show counts (zero
    cells stay blank); the colour is the cell's share of its row, so the confusions of a
    rare type are as visible as those of a frequent one. Row labels carry the row total
    (gold support; predicted spans without gold for ``spurious``); lines set ``spurious``
    and ``missed`` apart. Sizes follow the number of types (13 types and more stay legible)."""
    n_rows, n_cols = len(confusion.rows), len(confusion.cols)
    totals = [sum(row) for row in confusion.matrix]
    shares = [[count / total if total else 0.0 for count in row]
              for row, total in zip(confusion.matrix, totals)]
    cell = 0.62 if n_cols > 8 else 0.85
    font = 9 if n_cols > 8 else 10
    fig = Figure(figsize=(2.4 + cell * n_cols, 1.9 + cell * n_rows), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="equal")
    for i, row in enumerate(confusion.matrix):
        for j, count in enumerate(row):
            if count:
                colour = "white" if shares[i][j] > 0.5 else "black"
                ax.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=font)
    ax.axhline(n_rows - 1.5, color="0.3", linewidth=1)
    ax.axvline(n_cols - 1.5, color="0.3", linewidth=1)
    ax.set_xticks(range(n_cols), confusion.cols, rotation=45, ha="right", fontsize=font + 1)
    ax.set_yticks(range(n_rows), [f"{row} ({total:,})" for row, total
                                  in zip(confusion.rows, totals)], fontsize=font + 1)
    ax.tick_params(length=0)
    ax.set_xticks([x + 0.5 for x in range(n_cols - 1)], minor=True)
    ax.set_yticks([y + 0.5 for y in range(n_rows - 1)], minor=True)
    ax.grid(which="minor", color="white", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    ax.set(xlabel="predicted", ylabel="gold (row total)", title=title or "Entity-type confusion")
    bar = fig.colorbar(image, ax=ax, shrink=0.6, pad=0.02)
    bar.set_label("share of the row")
    fig.savefig(path, dpi=110, bbox_inches="tight", format="png", metadata=REPORT_PNG_METADATA)
    return path
