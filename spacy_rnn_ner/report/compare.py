"""One Markdown table comparing several NER systems (the ``compare`` command).

Reads JSON files written by ``spacy evaluate --output`` or by the ``report``
command (``report_<name>.json``); both hold ``ents_p``, ``ents_r``,
``ents_f``, ``ents_per_type`` and optionally ``speed``.
"""
import math
import statistics
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..errors import InputError
from ..file_kinds import COMPARE_MARKDOWN, markdown_marker
from ..io import OutputFile, check_outputs, read_json, write_text
from ..scorer import macro_average
from .metrics import fmt_pct, fmt_speed, markdown_table

DESCRIPTION = "One Markdown table comparing NER systems from spacy-evaluate or report JSON files."


SCORE_KEYS = ("ents_p", "ents_r", "ents_f", "ents_macro_f", "speed")


def checked_scores(scores: Dict[str, Any], path: Path) -> Dict[str, Any]:
    """``scores`` if the values the table shows are numbers (or missing/null): scores
    between 0 and 1, a speed of 0 or above; else an :class:`InputError` naming the file
    and the key."""
    def number(value: Any, key: str) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise InputError(f"{key!r} is {value!r}, expected a number", path)
        if value is not None and key == "speed" and value < 0:
            raise InputError(f"'speed' is {value!r}, expected words per second (0 or above)", path)
        if value is not None and key != "speed" and not 0 <= value <= 1:
            raise InputError(f"{key!r} is {value!r}, expected a score between 0 and 1 (as "
                             "`spacy evaluate` writes it, not a percentage)", path)

    for key in SCORE_KEYS:
        number(scores.get(key), key)
    per_type = scores.get("ents_per_type")
    if per_type is not None and not isinstance(per_type, dict):
        raise InputError(f"'ents_per_type' is {type(per_type).__name__}, expected an object",
                         path)
    for label, values in (per_type or {}).items():
        if not label.strip():
            raise InputError(f"'ents_per_type' has a type without a name ({label!r})", path)
        if not isinstance(values, dict):
            raise InputError(f"'ents_per_type' -> {label!r} is {values!r}, expected an object "
                             "with p, r, f", path)
        for key in ("p", "r", "f"):
            number(values.get(key), f"ents_per_type -> {label} -> {key}")
    return scores


def with_entity_scores(scores: Dict[str, Any], path: Path) -> Dict[str, Any]:
    """``scores`` if it holds an entity score (a number in ``ents_p/r/f``,
    ``ents_macro_f`` or a type in ``ents_per_type``); else (``{}``, another JSON, an
    evaluation without entities) an :class:`InputError`: its row would be all dashes."""
    if any(scores.get(key) is not None for key in SCORE_KEYS if key != "speed") \
            or scores.get("ents_per_type"):
        return scores
    raise InputError("holds no entity scores (no ents_p, ents_r, ents_f or ents_per_type): "
                     "expected the JSON of `spacy evaluate --output` or of `report`", path)


def macro_f(scores: Dict[str, Any]) -> Optional[float]:
    """``ents_macro_f`` if stored, else the unweighted mean F1 over ``ents_per_type``."""
    if scores.get("ents_macro_f") is not None:
        return scores["ents_macro_f"]
    return macro_average(scores.get("ents_per_type") or {})["f"]


def _cell(values: Sequence[Optional[float]], fmt: Callable[[Optional[float]], str],
          partial: bool = False) -> str:
    """One value as it is; several (the runs of one system): mean ± sample sd. A value
    missing from some runs gives ``-``, or with ``partial`` (a type that only some runs
    have) the cell of the runs that have it, with their count (``50.00 (1 of 2 runs)``)."""
    present = [v for v in values if v is not None]
    if len(values) == 1 or not present:
        return fmt(values[0] if values else None)
    if len(present) < len(values):
        if not partial:
            return "-"
        return f"{_cell(present, fmt)} ({len(present)} of {len(values)} runs)"
    if len(present) == 1:
        return fmt(present[0])
    mean, sd = statistics.mean(present), statistics.stdev(present)
    return f"{fmt(mean)} ± {fmt(sd)}"


def _type_f(scores: Dict[str, Any], label: str, key: str = "f") -> Optional[float]:
    values = (scores.get("ents_per_type") or {}).get(label)
    return None if values is None else values.get(key)


def compare_table(systems: Dict[str, List[Dict[str, Any]]]) -> str:
    """Markdown table: one row per system with micro P/R/F, macro F1, F1 per type (sorted) and words/s.

    A system with several runs (seeds) shows mean ± sample standard deviation and a
    ``Runs`` column appears. Scores are shown in % with two decimals; the words/s column
    appears only if at least one system has a ``speed``; missing values are ``-``.
    """
    runs = [r for rs in systems.values() for r in rs]
    types = sorted({label for scores in runs for label in (scores.get("ents_per_type") or {})})
    with_speed = any(scores.get("speed") is not None for scores in runs)
    with_runs = any(len(rs) > 1 for rs in systems.values())
    headers = ["System"] + (["Runs"] if with_runs else []) + ["P", "R", "F1", "Macro F1"]
    headers += [f"{label} F1" for label in types] + (["Words/s"] if with_speed else [])
    rows = []
    for name, rs in systems.items():
        row = [name] + ([str(len(rs))] if with_runs else [])
        row += [_cell([r.get(key) for r in rs], fmt_pct) for key in ("ents_p", "ents_r", "ents_f")]
        row.append(_cell([macro_f(r) for r in rs], fmt_pct))
        row += [_cell([_type_f(r, label) for r in rs], fmt_pct, partial=True) for label in types]
        row += [_cell([r.get("speed") for r in rs], fmt_speed)] if with_speed else []
        rows.append(row)
    return markdown_table(headers, rows)


def type_prf_table(systems: Dict[str, List[Dict[str, Any]]]) -> str:
    """Markdown table: one row per entity type, one column per system with precision /
    recall / F1 (means over a system's runs that have the type, their count when not all
    do), then the gold support."""
    runs = [r for rs in systems.values() for r in rs]
    types = sorted({label for scores in runs for label in (scores.get("ents_per_type") or {})})
    rows = []
    for label in types:
        row = [label]
        for rs in systems.values():
            means = []
            for key in "prf":
                values = [v for v in (_type_f(r, label, key) for r in rs) if v is not None]
                means.append(fmt_pct(statistics.mean(values)) if values else "-")
            having = sum(1 for r in rs if label in (r.get("ents_per_type") or {}))
            partial = f" ({having} of {len(rs)} runs)" if 0 < having < len(rs) else ""
            row.append(" / ".join(means) + partial)
        supports = {(r.get("ents_per_type") or {}).get(label, {}).get("support") for r in runs} - {None}
        row.append(str(supports.pop()) if len(supports) == 1 else "-")
        rows.append(row)
    return markdown_table(["Type"] + [f"{name} P / R / F1" for name in systems] + ["Support"], rows)


def differing_types(systems: Dict[str, List[Dict[str, Any]]],
                    paths: Dict[str, List[Path]]) -> List[str]:
    """One line per system whose runs have different entity types in ``ents_per_type``,
    naming each run's types (its type cells then show the runs that have the type)."""
    lines = []
    for name, runs in systems.items():
        types = [tuple(sorted(r.get("ents_per_type") or {})) for r in runs]
        if len(set(types)) > 1:
            each = "; ".join(f"{path}: {', '.join(t) or 'none'}" for path, t in zip(paths[name], types))
            lines.append(f"the runs of {name!r} have different entity types ({each}): a type's "
                         "cells show the runs that have it")
    return lines


def write_compare(scores: Sequence[Path], names: Optional[Sequence[str]] = None,
                  output: Optional[Path] = None, seeds: bool = False, by_type: bool = False,
                  source: Optional[str] = None,
                  warn: Callable[[str], None] = lambda message: None) -> str:
    """The table of the JSON score files ``scores`` (rows named by ``names``, default the
    file stems), also written to ``output`` as a Markdown page when given. ``seeds``: files
    of the same name are runs of one system (one row, mean ± sd). ``by_type``: a second
    table with P / R / F1 per type. ``source``: the scores of that source's documents
    (``by_source`` of a ``report`` JSON). Every file is read before anything is written; a
    bad one is an :class:`InputError` naming it. ``warn`` receives what the reader should
    know (runs of one system with different entity types)."""
    names = list(names) if names else [Path(path).stem for path in scores]
    if len(names) != len(scores):
        raise InputError(f"{len(scores)} score files but {len(names)} names")
    for name in dict.fromkeys(names):  # one row per system: a repeated name would hide one
        same = [str(path) for n, path in zip(names, scores) if n == name]
        if len(same) > 1 and not seeds:
            raise InputError(f"{len(same)} systems named {name!r} ({', '.join(same)}); give "
                             "distinct names with --names, or --seeds for runs of one system")
    check_outputs([None if output is None else OutputFile(output, COMPARE_MARKDOWN)], scores)
    systems: Dict[str, List[Dict[str, Any]]] = {}
    paths: Dict[str, List[Path]] = {}
    for name, path in zip(names, scores):
        paths.setdefault(name, []).append(path)
        data = read_json(path)
        if source is not None:
            by_source = data.get("by_source") if isinstance(data, dict) else None
            if not isinstance(by_source, dict) or source not in by_source:
                known = ", ".join(sorted(by_source)) if isinstance(by_source, dict) else "none"
                raise InputError(f"no scores of source {source!r} (a report JSON has them; "
                                 f"sources here: {known})", path)
            data = by_source[source]
        systems.setdefault(name, []).append(with_entity_scores(checked_scores(data, path), path))
    for line in differing_types(systems, paths):
        warn(line)
    table = compare_table(systems)
    if by_type:
        table += "\n" + type_prf_table(systems)
    if output is not None:
        write_text(
            output,
            markdown_marker("compare") + "\n\n# NER systems compared\n\nScores in % (P, R, F1: micro over all entities; macro F1: unweighted "
            "mean over the entity types; with several runs of a system: mean ± sample standard "
            "deviation).\n\n" + table,
        )
    return table
