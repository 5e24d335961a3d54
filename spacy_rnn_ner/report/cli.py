"""``python -m spacy_rnn_ner report``: evaluation report of one NER pipeline.

Runs the pipeline on a gold DocBin and writes into ``--output``:
``report_<name>.md`` (per-type table, micro/macro, confusion, links),
``report_<name>.json`` (all computed metrics), ``confusion_<name>.png``,
``curves_<name>.png`` (with ``--log``) and ``examples_<name>.html``.
"""
import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from spacy import displacy
from spacy.tokens import Doc

from .metrics import (
    MISSED,
    SPURIOUS,
    Confusion,
    confusion_table,
    doc_confusion_counts,
    entity_confusion,
    fmt_pct,
    fmt_speed,
    n_errors,
    ner_scores,
    per_type_table,
    select_examples,
)

DESCRIPTION = "Evaluation report (Markdown, JSON, PNG plots, displaCy HTML) of one NER pipeline on a gold DocBin."


def missing_paths(paths: Sequence[Optional[Path]]) -> List[Path]:
    """The given paths that do not exist (``None`` entries are ignored), each reported on stderr."""
    missing = [path for path in paths if path is not None and not Path(path).exists()]
    for path in missing:
        print(f"error: input path not found: {path}", file=sys.stderr)
    return missing


def load_json(path: Path) -> Dict[str, Any]:
    """Read a JSON object from ``path``."""
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def build_report(
    gold_docs: Sequence[Doc], pred_docs: Sequence[Doc], evaluate_scores: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """All metrics of the report as a JSON-serialisable dict (``ents_*`` keys as in ``spacy evaluate``).

    ``evaluate_scores`` is the JSON of ``spacy evaluate --output``; its ``speed``
    is copied over and its micro scores are kept under ``evaluate`` for reference.
    """
    report = ner_scores(gold_docs, pred_docs)
    report["n_docs"] = len(gold_docs)
    report["confusion"] = entity_confusion(gold_docs, pred_docs).to_dict()
    if evaluate_scores:
        report["speed"] = evaluate_scores.get("speed")
        report["evaluate"] = {key: evaluate_scores.get(key) for key in ("ents_p", "ents_r", "ents_f")}
    return report


def render_examples(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc], indices: Sequence[int]) -> str:
    """A displaCy ``ent`` page showing, for each chosen doc, the gold then the predicted entities."""
    parsed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W006: no entities to visualise
        for i in indices:
            errors = n_errors(doc_confusion_counts(gold_docs[i], pred_docs[i]))
            for doc, title in ((gold_docs[i], f"#{i} gold"), (pred_docs[i], f"#{i} predicted (errors: {errors})")):
                data = displacy.parse_ents(doc)
                data["title"] = title
                parsed.append(data)
        return displacy.render(parsed, style="ent", page=True, manual=True, jupyter=False)


def render_markdown(report: Dict[str, Any], name: str, files: Dict[str, str], sources: Dict[str, str]) -> str:
    """The Markdown summary: sources, speed, per-type table, confusion table and links to ``files``."""
    lines = [f"# NER evaluation report: {name}", ""]
    lines += [f"- {label}: `{value}`" for label, value in sources.items()]
    lines.append(
        f"- Documents: {report['n_docs']}, gold entities: {report['n_gold']}, predicted entities: {report['n_pred']}"
    )
    if report.get("speed") is not None:
        lines.append(f"- Speed (spacy evaluate): {fmt_speed(report['speed'])} words/s")
    evaluate = report.get("evaluate")
    if evaluate:
        lines.append(
            "- spacy evaluate micro P / R / F: "
            + " / ".join(fmt_pct(evaluate.get(key)) for key in ("ents_p", "ents_r", "ents_f"))
        )
    lines += [
        "",
        "## Scores per entity type",
        "",
        per_type_table(report),
        "Precision, recall and F1 in %, computed with spaCy's scorer (`spacy.scorer.get_ner_prf`): "
        "an entity counts as correct only with exact boundaries and type. Support = number of gold entities. "
        f"Micro pools all entities; macro is the unweighted mean over the {len(report['ents_per_type'])} types "
        "listed (a type that is only predicted, never gold, counts with 0).",
        "",
        "## Entity-type confusion",
        "",
        "Rows: gold type; columns: predicted type. Gold and predicted spans are matched by identical "
        "character boundaries: a matched pair adds 1 to (gold type, predicted type), so the diagonal is correct "
        f"and off-diagonal cells are type confusions; a gold span with no prediction of identical boundaries adds 1 "
        f"to column `{MISSED}`; a predicted span with no gold span of identical boundaries adds 1 to row "
        f"`{SPURIOUS}`. A boundary error therefore counts once as `{MISSED}` and once as `{SPURIOUS}`.",
        "",
    ]
    lines.append(confusion_table(Confusion.from_dict(report["confusion"])))
    if "confusion" in files:
        lines.append(f"![confusion matrix]({files['confusion']})")
    if "curves" in files:
        lines += ["", "## Training curves", "", f"![training curves]({files['curves']})"]
    lines += ["", "## Files", ""] + [f"- [{kind}]({file})" for kind, file in files.items()]
    return "\n".join(lines) + "\n"


def parse_args(argv: List[str]) -> argparse.Namespace:
    """Command-line arguments of ``report``."""
    parser = argparse.ArgumentParser(prog="python -m spacy_rnn_ner report", description=DESCRIPTION)
    parser.add_argument("--model", type=Path, required=True, help="trained spaCy pipeline directory (sets doc.ents)")
    parser.add_argument("--data", type=Path, required=True, help="DocBin (.spacy) with gold entities")
    parser.add_argument("--scores", type=Path, help="JSON written by `spacy evaluate --output` (for the speed)")
    parser.add_argument("--log", type=Path, help="JSONL training log of spacy.ConsoleLogger.v3 (for the curves)")
    parser.add_argument("--output", type=Path, required=True, help="output directory (created if needed)")
    parser.add_argument("--name", required=True, help="system name used in the file names")
    parser.add_argument("--examples", type=int, default=5, help="number of example sentences in the HTML (default 5)")
    parser.add_argument("--gpu-id", type=int, default=-1, help="GPU to run the pipeline on (-1: CPU)")
    return parser.parse_args(argv)


def main(argv: List[str]) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    if missing_paths([args.model, args.data, args.scores, args.log]):
        return 1
    import spacy
    from spacy.tokens import DocBin

    from .plots import plot_confusion, plot_curves, read_training_log

    if args.gpu_id >= 0:
        spacy.require_gpu(args.gpu_id)
    nlp = spacy.load(args.model)
    gold_docs = list(DocBin().from_disk(args.data).get_docs(nlp.vocab))
    pred_docs = list(nlp.pipe(doc.text for doc in gold_docs))
    report = build_report(gold_docs, pred_docs, load_json(args.scores) if args.scores else None)

    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    name = args.name
    files = {"confusion": f"confusion_{name}.png"}
    plot_confusion(Confusion.from_dict(report["confusion"]), out / files["confusion"], f"Entity-type confusion: {name}")
    if args.log:
        files["curves"] = f"curves_{name}.png"
        plot_curves(read_training_log(args.log), out / files["curves"], f"Training: {name}")
    files["examples"] = f"examples_{name}.html"
    indices = select_examples(gold_docs, pred_docs, args.examples)
    (out / files["examples"]).write_text(render_examples(gold_docs, pred_docs, indices), encoding="utf-8")
    files["metrics"] = f"report_{name}.json"
    report.update(name=name, model=str(args.model), data=str(args.data), files=files)
    (out / files["metrics"]).write_text(json.dumps(report, indent=2), encoding="utf-8")
    sources = {"Model": str(args.model), "Data": str(args.data)}
    markdown = render_markdown(report, name, files, sources)
    (out / f"report_{name}.md").write_text(markdown, encoding="utf-8")
    print(per_type_table(report))
    print(f"Report written to {out / f'report_{name}.md'}")
    return 0
