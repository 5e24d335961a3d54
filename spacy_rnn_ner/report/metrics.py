"""Pure NER evaluation functions: per-type P/R/F, micro/macro, type confusion.

Everything here is a function of a list of gold docs and a list of predicted
docs (same texts, same order); nothing loads a model or touches the disk, so
it can be tested without a trained pipeline.

Conventions
-----------
* Precision / recall / F1 come from spaCy's own scorer
  (:func:`spacy.scorer.get_ner_prf`, the function ``spacy evaluate`` uses for
  ``ner`` components): a predicted entity is correct only if its boundaries
  *and* its type equal a gold entity's.  Scores are fractions (0..1), as in
  spaCy; the Markdown helpers show them x100 with two decimals.
* Macro = unweighted mean over the entity types of the per-type values, over
  every type spaCy reports (types seen in gold *or* in the predictions; a type
  that is only ever predicted counts with P = R = F1 = 0).
* Support = number of gold entities of the type.
* Confusion (by exact character boundaries, so tokenisation may differ):
  a gold and a predicted span with identical boundaries form a pair and add 1
  to cell (gold type, predicted type) (diagonal = correct, elsewhere = wrong
  type); a gold span with no predicted span of identical boundaries adds 1 to
  (gold type, ``missed``); a predicted span with no gold span of identical
  boundaries adds 1 to (``spurious``, predicted type).  A boundary error thus
  counts once as ``missed`` and once as ``spurious``.
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.scorer import get_ner_prf

from ..markdown import markdown_table  # noqa: F401 (the tables of the report)
from spacy.tokens import Doc
from spacy.training import Example

from ..scorer import macro_scores

MISSED = "missed"
SPURIOUS = "spurious"

Span3 = Tuple[int, int, str]  # (start_char, end_char, label)


def _check_pairs(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]) -> None:
    """Raise ``ValueError`` unless the two lists are parallel (same length, same texts)."""
    if len(gold_docs) != len(pred_docs):
        raise ValueError(f"{len(gold_docs)} gold docs but {len(pred_docs)} predicted docs")
    for i, (gold, pred) in enumerate(zip(gold_docs, pred_docs)):
        if gold.text != pred.text:
            raise ValueError(f"doc {i}: gold and predicted texts differ: {gold.text[:60]!r} / {pred.text[:60]!r}")


def make_examples(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]) -> List[Example]:
    """Pair predicted and gold docs into :class:`spacy.training.Example` objects."""
    _check_pairs(gold_docs, pred_docs)
    return [Example(pred, gold) for gold, pred in zip(gold_docs, pred_docs)]


def count_support(gold_docs: Iterable[Doc]) -> Dict[str, int]:
    """Number of gold entities per type."""
    return dict(Counter(ent.label_ for doc in gold_docs for ent in doc.ents))


def ner_scores(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc],
               labels: Optional[Iterable[str]] = None) -> Dict[str, Any]:
    """Micro, macro and per-type P/R/F (spaCy scorer) plus gold support per type.

    Returns keys compatible with ``spacy evaluate`` output (``ents_p``,
    ``ents_r``, ``ents_f``, ``ents_per_type`` with ``p``/``r``/``f``) and
    additionally ``ents_macro_p/r/f`` (over the model's ``labels``, as
    :func:`~spacy_rnn_ner.scorer.macro_scores`), ``ents_macro_all_p/r/f`` and
    ``support`` inside each per-type dict.
    """
    scores = get_ner_prf(make_examples(gold_docs, pred_docs))
    per_type: Dict[str, Dict[str, Any]] = {
        label: dict(values) for label, values in sorted((scores.get("ents_per_type") or {}).items())
    }
    support = count_support(gold_docs)
    for label in support:
        per_type.setdefault(label, {"p": 0.0, "r": 0.0, "f": 0.0})
    for label, values in per_type.items():
        values["support"] = support.get(label, 0)
    per_type = dict(sorted(per_type.items()))
    return {
        "ents_p": scores["ents_p"],
        "ents_r": scores["ents_r"],
        "ents_f": scores["ents_f"],
        **macro_scores(per_type, support, labels),
        "ents_per_type": per_type,
        "n_gold": sum(support.values()),
        "n_pred": sum(len(doc.ents) for doc in pred_docs),
    }


def scores_by_source(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc],
                     key: str = "source",
                     labels: Optional[Iterable[str]] = None) -> Dict[str, Dict[str, Any]]:
    """:func:`ner_scores` (plus ``n_docs``) per value of the gold docs'
    ``user_data[key]`` (e.g. ner-uk 2.0's ``bruk`` / ``ng``), sorted; a doc without it
    counts under ``"-"``. Empty when no doc carries the key."""
    _check_pairs(gold_docs, pred_docs)
    sources = [doc.user_data.get(key) for doc in gold_docs]
    if not any(sources):
        return {}
    out: Dict[str, Dict[str, Any]] = {}
    for source in sorted({s or "-" for s in sources}):
        chosen = [i for i, s in enumerate(sources) if (s or "-") == source]
        scores = ner_scores([gold_docs[i] for i in chosen], [pred_docs[i] for i in chosen], labels)
        scores["n_docs"] = len(chosen)
        out[source] = scores
    return out


def char_spans(doc: Doc) -> List[Span3]:
    """The entities of ``doc`` as ``(start_char, end_char, label)`` triples."""
    return [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]


def doc_confusion_counts(gold: Doc, pred: Doc) -> Counter:
    """Confusion counts ``{(gold_type|spurious, pred_type|missed): n}`` for one doc pair."""
    gold_by_bounds = {(s, e): label for s, e, label in char_spans(gold)}
    pred_by_bounds = {(s, e): label for s, e, label in char_spans(pred)}
    counts: Counter = Counter()
    for bounds, gold_label in gold_by_bounds.items():
        counts[(gold_label, pred_by_bounds.get(bounds, MISSED))] += 1
    for bounds, pred_label in pred_by_bounds.items():
        if bounds not in gold_by_bounds:
            counts[(SPURIOUS, pred_label)] += 1
    return counts


def n_errors(counts: Counter) -> int:
    """Number of off-diagonal events (wrong type, missed, spurious) in confusion counts."""
    return sum(n for (gold, pred), n in counts.items() if gold != pred)


@dataclass
class Confusion:
    """Entity-type confusion matrix: ``matrix[i][j]`` counts row ``rows[i]`` vs column ``cols[j]``.

    Rows are gold types followed by ``spurious``; columns are predicted types
    followed by ``missed``.  Both use the same sorted list of types.
    """

    labels: List[str]
    matrix: List[List[int]] = field(default_factory=list)

    @property
    def rows(self) -> List[str]:
        """Row names: gold types, then ``spurious``."""
        return self.labels + [SPURIOUS]

    @property
    def cols(self) -> List[str]:
        """Column names: predicted types, then ``missed``."""
        return self.labels + [MISSED]

    def count(self, row: str, col: str) -> int:
        """The cell for a gold type (or ``spurious``) and a predicted type (or ``missed``)."""
        return self.matrix[self.rows.index(row)][self.cols.index(col)]

    def to_dict(self) -> Dict[str, Any]:
        """JSON-serialisable form."""
        return {"rows": self.rows, "cols": self.cols, "matrix": self.matrix}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Confusion":
        """Inverse of :meth:`to_dict`."""
        return cls(list(data["rows"][:-1]), [list(row) for row in data["matrix"]])


def entity_confusion(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]) -> Confusion:
    """Entity-type confusion matrix over all doc pairs (see the module docstring)."""
    _check_pairs(gold_docs, pred_docs)
    total: Counter = Counter()
    for gold, pred in zip(gold_docs, pred_docs):
        total.update(doc_confusion_counts(gold, pred))
    labels = sorted({label for pair in total for label in pair} - {MISSED, SPURIOUS})
    confusion = Confusion(labels)
    confusion.matrix = [[total.get((row, col), 0) for col in confusion.cols] for row in confusion.rows]
    return confusion


ERROR_KINDS = ("exact", "wrong type", "wrong span", "wrong span and type", "missed")


def doc_error_kinds(gold: Doc, pred: Doc) -> Tuple[Counter, Counter]:
    """What became of each gold entity, by its type: ``exact``; ``wrong type`` (same span);
    ``wrong span`` (overlapped by a prediction of its type, other boundaries); ``wrong span
    and type`` (overlapped only by predictions of other types); ``missed`` (no overlap).
    And the predictions that overlap no gold entity (false alarms), by predicted type."""
    gold_spans, pred_spans = char_spans(gold), char_spans(pred)
    pred_by_bounds = {(s, e): label for s, e, label in pred_spans}
    kinds: Counter = Counter()
    for start, end, label in gold_spans:
        same = pred_by_bounds.get((start, end))
        overlapping = [p for p in pred_spans if p[0] < end and start < p[1]]
        if same == label:
            kind = "exact"
        elif same is not None:
            kind = "wrong type"
        elif any(p[2] == label for p in overlapping):
            kind = "wrong span"
        elif overlapping:
            kind = "wrong span and type"
        else:
            kind = "missed"
        kinds[(label, kind)] += 1
    alarms = Counter(label for start, end, label in pred_spans
                     if not any(g[0] < end and start < g[1] for g in gold_spans))
    return kinds, alarms


def error_kinds(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]) -> Dict[str, Dict[str, int]]:
    """:func:`doc_error_kinds` summed over the doc pairs: ``{type: {kind: n, ...,
    "false alarm": n}}`` for every gold or predicted type."""
    _check_pairs(gold_docs, pred_docs)
    kinds: Counter = Counter()
    alarms: Counter = Counter()
    for gold, pred in zip(gold_docs, pred_docs):
        doc_kinds, doc_alarms = doc_error_kinds(gold, pred)
        kinds.update(doc_kinds)
        alarms.update(doc_alarms)
    labels = sorted({label for label, _ in kinds} | set(alarms))
    return {label: {**{kind: kinds[(label, kind)] for kind in ERROR_KINDS}, "false alarm": alarms[label]}
            for label in labels}


def worst_confusions(confusion: Confusion, n: int = 3) -> List[Tuple[str, str, int]]:
    """The ``n`` largest type confusions ``(gold type, predicted type, count)``: same span,
    other type (the off-diagonal cells between types), largest first."""
    cells = [(row, col, confusion.count(row, col)) for row in confusion.labels
             for col in confusion.labels if row != col]
    return sorted((c for c in cells if c[2] > 0), key=lambda c: (-c[2], c[0], c[1]))[:n]


def error_kinds_table(kinds: Dict[str, Dict[str, int]]) -> str:
    """Markdown: one row per type, the gold entities by what became of them, then false alarms."""
    headers = ["Type", "Gold"] + list(ERROR_KINDS) + ["false alarm"]
    rows = [[label, sum(v[k] for k in ERROR_KINDS)] + [v[k] for k in ERROR_KINDS] + [v["false alarm"]]
            for label, v in kinds.items()]
    return markdown_table(headers, rows)


def select_examples(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc], n: int) -> List[int]:
    """Pick ``n`` doc indices deterministically for display.

    About half (rounded up) are the first docs containing errors, the rest the
    first docs containing gold entities and no error; if either group runs
    short, the other fills up, then docs without entities.  Returned in
    document order.
    """
    _check_pairs(gold_docs, pred_docs)
    errors, correct, other = [], [], []
    for i, (gold, pred) in enumerate(zip(gold_docs, pred_docs)):
        if n_errors(doc_confusion_counts(gold, pred)):
            errors.append(i)
        elif len(gold.ents):
            correct.append(i)
        else:
            other.append(i)
    n_err = min(len(errors), max((n + 1) // 2, n - len(correct)))
    chosen = errors[:n_err] + correct[: n - n_err]
    chosen += other[: n - len(chosen)]
    return sorted(chosen)


def fmt_pct(value: Optional[float]) -> str:
    """A 0..1 score as a percentage with two decimals (``-`` if missing)."""
    return "-" if value is None else f"{100 * float(value):.2f}"


def fmt_speed(value: Optional[float]) -> str:
    """Words per second as an integer (``-`` if missing)."""
    return "-" if value is None else f"{float(value):.0f}"


def per_type_table(scores: Dict[str, Any]) -> str:
    """Markdown table: one row per type (P, R, F1 in %, support), then micro and macro rows."""
    per_type = scores["ents_per_type"]
    total = sum(values.get("support", 0) for values in per_type.values())
    rows = [[label] + [fmt_pct(v[key]) for key in "prf"] + [v.get("support", "-")] for label, v in per_type.items()]
    for row_name, prefix in (("**micro**", "ents_"), ("**macro**", "ents_macro_")):
        rows.append([row_name] + [fmt_pct(scores[prefix + key]) for key in "prf"] + [total])
    return markdown_table(["Type", "Precision", "Recall", "F1", "Support"], rows)


def source_tables(scores: Dict[str, Any]) -> str:
    """Markdown: micro/macro scores per source (``scores["by_source"]``, see
    :func:`scores_by_source`) next to all documents, then F1 per type and source with the
    gold support; empty without sources."""
    by_source = scores.get("by_source") or {}
    if not by_source:
        return ""
    groups = [("all", scores)] + list(by_source.items())
    rows = [[name, g.get("n_docs", "-"), g["n_gold"]]
            + [fmt_pct(g[f"ents_{key}"]) for key in "prf"] + [fmt_pct(g["ents_macro_f"])]
            for name, g in groups]
    out = markdown_table(["Source", "Docs", "Gold", "Precision", "Recall", "F1", "Macro F1"], rows)
    rows = []
    for label in scores["ents_per_type"]:
        cells = [label]
        for _, g in groups:
            v = g["ents_per_type"].get(label)
            cells.append("-" if v is None or not v.get("support") else
                         f"{fmt_pct(v['f'])} ({v['support']})")
        rows.append(cells)
    out += "\n" + markdown_table(["Type"] + [f"F1 {name} (support)" for name, _ in groups], rows)
    return out


def confusion_table(confusion: Confusion) -> str:
    """Markdown version of the confusion matrix (rows gold, columns predicted)."""
    headers = ["gold \\ predicted"] + confusion.cols
    rows = [[row] + counts for row, counts in zip(confusion.rows, confusion.matrix)]
    return markdown_table(headers, rows)
