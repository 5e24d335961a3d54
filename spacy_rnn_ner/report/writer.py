"""Evaluation report of one NER pipeline (the ``report`` command).

:func:`write_report` runs the pipeline on a gold DocBin and writes into ``output``:
``report_<name>.md`` (per-type table, micro/macro, confusion, links),
``report_<name>.json`` (all computed metrics), ``confusion_<name>.png``,
``curves_<name>.png`` (with a training log) and ``examples_<name>.html``. Every input is
read and checked before the model is loaded, so a bad file is reported at once, by name;
every file is made in memory first and all are written (each atomically) at the end, so
an error leaves none behind.
"""
import io
import json
import warnings
from pathlib import Path
from typing import Any, BinaryIO, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy import displacy
from spacy.tokens import Doc

from .metrics import (
    MISSED,
    SPURIOUS,
    Confusion,
    confusion_table,
    doc_confusion_counts,
    entity_confusion,
    error_kinds,
    error_kinds_table,
    fmt_pct,
    fmt_speed,
    n_errors,
    ner_scores,
    per_type_table,
    scores_by_source,
    select_examples,
    source_tables,
    worst_confusions,
)

from ..file_kinds import HTML_MARKER, REPORT_HTML, REPORT_PNG, REPORT_JSON, REPORT_MARKDOWN, FileKind, markdown_marker
from ..errors import InputError, import_optional
from ..io import atomic_output, check_exists, load_docbin, load_pipeline, read_json, read_jsonl, require_gpu

DESCRIPTION = "Evaluation report (Markdown, JSON, PNG plots, displaCy HTML) of one NER pipeline on a gold DocBin."


def build_report(
    gold_docs: Sequence[Doc], pred_docs: Sequence[Doc], evaluate_scores: Optional[Dict[str, Any]] = None,
    labels: Optional[Iterable[str]] = None,
) -> Dict[str, Any]:
    """All metrics of the report as a JSON-serialisable dict (``ents_*`` keys as in ``spacy evaluate``).

    ``evaluate_scores`` is the JSON of ``spacy evaluate --output``; its ``speed``
    is copied over and its micro scores are kept under ``evaluate`` for reference.
    ``labels``: the model's entity labels (:func:`entity_labels`): the macro average is
    over those, as in ``spacy evaluate`` with our scorer.
    """
    report = ner_scores(gold_docs, pred_docs, labels)
    known = None if labels is None else set(labels)
    report["macro_types"] = [label for label in report["ents_per_type"] if known is None or label in known]
    if labels is not None:
        report["model_labels"] = sorted(known)
    report["n_docs"] = len(gold_docs)
    report["confusion"] = entity_confusion(gold_docs, pred_docs).to_dict()
    report["error_kinds"] = error_kinds(gold_docs, pred_docs)
    by_source = scores_by_source(gold_docs, pred_docs, labels=labels)
    if by_source:
        report["by_source"] = by_source
    if evaluate_scores:
        report["speed"] = evaluate_scores.get("speed")
        report["evaluate"] = {key: evaluate_scores.get(key) for key in ("ents_p", "ents_r", "ents_f")}
    return report


def entity_labels(nlp: Any) -> Optional[List[str]]:
    """The entity labels the pipeline's components that set ``doc.ents`` can predict, or
    ``None`` when none says."""
    labels = {label for name, pipe in nlp.pipeline if "doc.ents" in nlp.get_pipe_meta(name).assigns
              for label in getattr(pipe, "labels", ())}
    return sorted(labels) or None


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
        page = displacy.render(parsed, style="ent", page=True, manual=True, jupyter=False)
    doctype, _, rest = page.partition("\n")
    if doctype.lower().startswith("<!doctype"):  # the marker: an earlier output may be replaced
        return f"{doctype}\n{HTML_MARKER}\n{rest}"
    return f"{HTML_MARKER}\n{page}"


def render_markdown(report: Dict[str, Any], name: str, files: Dict[str, str], sources: Dict[str, str]) -> str:
    """The Markdown summary: sources, speed, per-type table, confusion table and links to ``files``."""
    lines = [markdown_marker("report"), "", f"# NER evaluation report: {name}", ""]
    lines += [f"- {label}: `{value}`" for label, value in sources.items()]
    lines.append(
        f"- Documents: {report['n_docs']}, gold entities: {report['n_gold']}, predicted entities: {report['n_pred']}"
    )
    warning = no_gold_warning(report, sources.get("Data", "the data"))
    if warning:
        lines.append(f"- **Warning**: {warning}")
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
        f"Micro pools all entities; {macro_note(report)}",
        "",
    ]
    if report.get("by_source"):
        lines += [
            "## Scores per source",
            "",
            source_tables(report),
            "The same scores over the documents of each source (`user_data[\"source\"]` of the gold "
            "documents, e.g. ner-uk 2.0's `bruk` and `ng`); `-` in a cell: no gold entity of the type.",
            "",
        ]
    lines += [
        "## Entity-type confusion",
        "",
        "Rows: gold type; columns: predicted type. Gold and predicted spans are matched by identical "
        "character boundaries: a matched pair adds 1 to (gold type, predicted type), so the diagonal is correct "
        f"and off-diagonal cells are type confusions; a gold span with no prediction of identical boundaries adds 1 "
        f"to column `{MISSED}`; a predicted span with no gold span of identical boundaries adds 1 to row "
        f"`{SPURIOUS}`. A boundary error therefore counts once as `{MISSED}` and once as `{SPURIOUS}`. "
        "In the picture the colour of a cell is its share of the row (row totals next to the row names) "
        "and zero cells are blank.",
        "",
    ]
    confusion = Confusion.from_dict(report["confusion"])
    worst = worst_confusions(confusion)
    if worst:
        lines += ["Worst type confusions (gold → predicted, same span): "
                  + ", ".join(f"{gold} → {pred} {n}" for gold, pred, n in worst) + ".", ""]
    lines.append(confusion_table(confusion))
    if "confusion" in files:
        lines.append(f"![confusion matrix]({files['confusion']})")
    if report.get("error_kinds"):
        lines += [
            "", "## What became of the gold entities", "",
            "Each gold entity once: `exact`; `wrong type` (same span); `wrong span` (a prediction of "
            "its type overlaps it with other boundaries); `wrong span and type` (only predictions of "
            "other types overlap it); `missed` (no prediction overlaps it). `false alarm`: predictions "
            "of the type that overlap no gold entity.", "",
            error_kinds_table(report["error_kinds"]),
        ]
    if "curves" in files:
        lines += ["", "## Training curves", "", f"![training curves]({files['curves']})"]
    lines += ["", "## Files", ""] + [f"- [{kind}]({file})" for kind, file in files.items()]
    return "\n".join(lines) + "\n"


def report_files(name: str) -> Dict[str, FileKind]:
    """The names of the files :func:`write_report` may write for system ``name``, and
    what each holds."""
    return {f"report_{name}.md": REPORT_MARKDOWN, f"report_{name}.json": REPORT_JSON,
            f"confusion_{name}.png": REPORT_PNG, f"curves_{name}.png": REPORT_PNG,
            f"examples_{name}.html": REPORT_HTML}


def checked_log(log: Path) -> List[Dict[str, Any]]:
    """The records of a ``spacy.ConsoleLogger.v3`` training log, checked to give the
    curves; anything else is an :class:`InputError` naming the file."""
    from .plots import training_series

    records = read_jsonl(log)
    if not records:
        raise InputError("the training log holds no records", log)
    try:
        training_series(records)
    except BAD_LOG_ERRORS as err:
        raise bad_log(log, err) from None
    return records


#: what reading the curves out of a record that is not a training log raises
BAD_LOG_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


def bad_log(log: Path, err: Exception) -> InputError:
    """The error for a training log whose records give no curves."""
    return InputError(f"not a spaCy ConsoleLogger.v3 training log ({type(err).__name__}: "
                      f"{err})", log)


def _png(draw: Callable[[BinaryIO], Any]) -> bytes:
    """The PNG bytes that ``draw(file)`` saves."""
    buffer = io.BytesIO()
    draw(buffer)
    return buffer.getvalue()


def macro_note(report: Dict[str, Any]) -> str:
    """What the macro average of the report is taken over, in a sentence."""
    types = report.get("macro_types", list(report["ents_per_type"]))
    model_labels = report.get("model_labels")
    of_model = f" of the model's {len(model_labels)}" if model_labels is not None else ""
    if not types:
        none = f"none{of_model} types" if model_labels is not None else "no type"
        note = f"there is no macro average: {none} occurs in the gold data or the predictions."
    else:
        note = (f"macro is the unweighted mean over the {len(types)}{of_model} types that occur "
                "in the gold data or the predictions (a type that is only predicted, never gold, "
                "counts with 0).")
    others = [label for label in report["ents_per_type"] if label not in types]
    if others:
        note += (f" Left out: {', '.join(others)}, gold types the model cannot predict; over all "
                 f"{len(report['ents_per_type'])} types (`ents_macro_all_f`) macro F1 is "
                 f"{fmt_pct(report.get('ents_macro_all_f'))}.")
    return note


def no_gold_warning(report: Dict[str, Any], data: Any) -> Optional[str]:
    """A warning when the gold data holds no entity: precision, recall and F1 are
    undefined, every score is ``-``."""
    if report.get("n_gold"):
        return None
    return (f"{data}: the gold data holds no entities, so the scores say nothing about the model "
            "(is the data annotated?)")


def _plots() -> Any:
    import_optional("matplotlib", "report", "the report's plots")
    from . import plots

    return plots


def write_report(model: Path, data: Path, output: Path, name: str,
                 scores: Optional[Path] = None, log: Optional[Path] = None,
                 examples: int = 5, gpu_id: int = -1) -> Dict[str, Any]:
    """Evaluate the pipeline ``model`` on the gold DocBin ``data`` and write the report
    files into ``output`` (see module docstring). ``scores``: JSON of ``spacy evaluate
    --output`` (for the speed); ``log``: JSONL training log of ``spacy.ConsoleLogger.v3``
    (for the curves). Returns the metrics written to ``report_<name>.json``."""
    from .compare import checked_scores, with_entity_scores

    check_exists(model, "dir")
    evaluate_scores = (with_entity_scores(checked_scores(read_json(scores), scores), scores)
                       if scores is not None else None)  # as compare reads it: not a training log
    plots = _plots()
    records = checked_log(log) if log is not None else None
    gold = load_docbin(data)  # a bad file is named before the model loads
    if not len(gold):
        raise InputError("holds no documents", data)
    if gpu_id >= 0:
        require_gpu(gpu_id)
    nlp = load_pipeline(model)
    gold_docs = list(gold.get_docs(nlp.vocab))
    pred_docs = list(nlp.pipe(doc.text for doc in gold_docs))
    report = build_report(gold_docs, pred_docs, evaluate_scores, entity_labels(nlp))

    markdown, json_name, confusion, curves, html = report_files(name)
    files = {"confusion": confusion}
    made: Dict[str, Any] = {confusion: _png(lambda out: plots.plot_confusion(
        Confusion.from_dict(report["confusion"]), out, f"Entity-type confusion: {name}"))}
    if records is not None:
        files["curves"] = curves
        try:
            made[curves] = _png(lambda out: plots.plot_curves(records, out, f"Training: {name}"))
        except BAD_LOG_ERRORS as err:
            raise bad_log(log, err) from None
    files["examples"] = html
    indices = select_examples(gold_docs, pred_docs, examples)
    made[html] = render_examples(gold_docs, pred_docs, indices)
    files["metrics"] = json_name
    report.update(name=name, model=str(model), data=str(data), files=files)
    made[json_name] = json.dumps(report, indent=2)
    made[markdown] = render_markdown(report, name, files, {"Model": str(model), "Data": str(data)})
    for file_name, content in made.items():
        with atomic_output(output / file_name, "wb" if isinstance(content, bytes) else "w") as out:
            out.write(content)
    return report
