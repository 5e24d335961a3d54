"""``python -m spacy_rnn_ner compare``: one Markdown table comparing several NER systems.

Reads JSON files written by ``spacy evaluate --output`` or by the ``report``
command (``report_<name>.json``); both hold ``ents_p``, ``ents_r``,
``ents_f``, ``ents_per_type`` and optionally ``speed``.
"""
import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from .cli import load_json, missing_paths
from .metrics import fmt_pct, fmt_speed, macro_average, markdown_table

DESCRIPTION = "One Markdown table comparing NER systems from spacy-evaluate or report JSON files."


def macro_f(scores: Dict[str, Any]) -> Optional[float]:
    """``ents_macro_f`` if stored, else the unweighted mean F1 over ``ents_per_type``."""
    if scores.get("ents_macro_f") is not None:
        return scores["ents_macro_f"]
    return macro_average(scores.get("ents_per_type") or {})["f"]


def compare_table(systems: Dict[str, Dict[str, Any]]) -> str:
    """Markdown table: one row per system with micro P/R/F, macro F1, F1 per type (sorted) and words/s.

    Scores are shown in % with two decimals; the words/s column appears only
    if at least one system has a ``speed``; missing values are ``-``.
    """
    types = sorted({label for scores in systems.values() for label in (scores.get("ents_per_type") or {})})
    with_speed = any(scores.get("speed") is not None for scores in systems.values())
    headers = ["System", "P", "R", "F1", "Macro F1"] + [f"{label} F1" for label in types]
    headers += ["Words/s"] if with_speed else []
    rows = []
    for name, scores in systems.items():
        per_type = scores.get("ents_per_type") or {}
        row = [name] + [fmt_pct(scores.get(key)) for key in ("ents_p", "ents_r", "ents_f")]
        row.append(fmt_pct(macro_f(scores)))
        row += [fmt_pct(per_type[label].get("f")) if label in per_type else "-" for label in types]
        row += [fmt_speed(scores.get("speed"))] if with_speed else []
        rows.append(row)
    return markdown_table(headers, rows)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line arguments of ``compare``."""
    parser = argparse.ArgumentParser(prog="python -m spacy_rnn_ner compare", description=DESCRIPTION)
    parser.add_argument("scores", nargs="+", type=Path, help="JSON score files (spacy evaluate or report_<name>.json)")
    parser.add_argument("--names", nargs="+", help="system names, one per file (default: file stems)")
    parser.add_argument("--output", type=Path, help="Markdown file to write the table to")
    return parser.parse_args(list(argv))


def main(argv: List[str]) -> int:
    """Entry point; prints the table, writes it to ``--output`` if given, returns the exit code."""
    args = parse_args(argv)
    names = args.names or [path.stem for path in args.scores]
    if len(names) != len(args.scores):
        print(f"error: {len(args.scores)} score files but {len(names)} names", file=sys.stderr)
        return 2
    if missing_paths(args.scores):
        return 1
    table = compare_table({name: load_json(path) for name, path in zip(names, args.scores)})
    print(table, end="")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            "# NER systems compared\n\nScores in % (P, R, F1: micro over all entities; macro F1: unweighted "
            "mean over the entity types).\n\n" + table,
            encoding="utf-8",
        )
    return 0
