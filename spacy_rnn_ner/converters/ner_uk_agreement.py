"""How well ner-uk 2.0, mapped to the 4 types of 1.0, agrees with 1.0 on the documents
both annotate (the 262 ``bruk`` documents, matched by text since 2.0 names are hashed).

Entities are compared by exact span and type (strict), with 1.0 as the reference: per
type, the entities of each version, those equal in span and type, those with the same
span and another type, and precision / recall / F1 of the mapped 2.0 entities. Spans are
compared as character ranges of the text without whitespace, so the two versions'
different tokenizations do not matter.
"""
from collections import Counter
from typing import Callable, Dict, List, Optional, Tuple

from spacy.tokens import Doc

from ..errors import InputError, where
from ..file_kinds import markdown_marker
from ..io import write_text
from ..markdown import markdown_table
from .ner_uk import load_ner_uk
from .ner_uk_v2 import V1_LABEL_MAP
from .report import ConversionReport, PathLike

Key = Tuple[int, int]


def _squeezed_spans(doc: Doc) -> Tuple[str, Dict[Key, str]]:
    """The text without whitespace and ``{(start, end): label}`` of ``doc.ents`` in it."""
    starts, ends, pos = [], [], 0
    for token in doc:
        starts.append(pos)
        pos += len("".join(token.text.split()))
        ends.append(pos)
    text = "".join(doc.text.split())
    return text, {(starts[e.start], ends[e.end - 1]): e.label_ for e in doc.ents}


def version_agreement(path: PathLike, label_map: Optional[Dict[str, str]] = None,
                      layer: str = "outer") -> Dict[str, object]:
    """``{"docs": n matched, "unmatched_v1": [...], "unmatched_v2": [...], "skipped":
    [documents and lines not read, with their file], "types": {label: {"v1", "v2", "agree",
    "other_type", "p", "r", "f"}}}`` for all
    documents of 1.0 (tok) and 2.0 (``bruk``) under ``path``; ``"total"`` is a row too.
    ``label_map``: default :data:`V1_LABEL_MAP`."""
    label_map = V1_LABEL_MAP if label_map is None else label_map
    report1, report2 = ConversionReport(), ConversionReport()
    v1 = [d for docs in load_ner_uk(path, dev_fraction=0.0, report=report1).values()
          for d in docs]
    v2 = [d for docs in load_ner_uk(path, version="2.0", dev_fraction=0.0, layer=layer,
                                    label_map=label_map, report=report2).values()
          for d in docs if d.user_data["source"] == "bruk"]
    skipped = [f"{where(issue.path, issue.line)}{issue.message} (ner-uk {version}: not compared)"
               for version, report in (("1.0", report1), ("2.0", report2))
               for issue in report.issues if issue.action == "skipped"]
    by_text: Dict[str, Doc] = {}
    for doc in v2:
        by_text["".join(doc.text.split())] = doc
    counts: Dict[str, Counter] = {}
    matched, unmatched_v1, used = 0, [], set()
    for doc1 in v1:
        text, ents1 = _squeezed_spans(doc1)
        doc2 = by_text.get(text)
        if doc2 is None:
            unmatched_v1.append(doc1.user_data["name"])
            continue
        matched += 1
        used.add(text)
        _, ents2 = _squeezed_spans(doc2)
        for key, label in ents1.items():
            c = counts.setdefault(label, Counter())
            c["v1"] += 1
            if ents2.get(key) == label:
                c["agree"] += 1
            elif key in ents2:
                c["other_type"] += 1
        for label in ents2.values():
            counts.setdefault(label, Counter())["v2"] += 1
    if not matched:
        raise InputError("no 1.0 document has the text of a 2.0 bruk document", path)
    unmatched_v2 = [d.user_data["name"] for t, d in by_text.items() if t not in used]
    types = {label: _scores(c) for label, c in sorted(counts.items())}
    types["total"] = _scores(sum(counts.values(), Counter()))
    return {"docs": matched, "unmatched_v1": unmatched_v1, "unmatched_v2": unmatched_v2,
            "skipped": skipped, "types": types}


def _scores(c: Counter) -> Dict[str, float]:
    p = c["agree"] / c["v2"] if c["v2"] else 0.0
    r = c["agree"] / c["v1"] if c["v1"] else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"v1": c["v1"], "v2": c["v2"], "agree": c["agree"], "other_type": c["other_type"],
            "p": 100 * p, "r": 100 * r, "f": 100 * f}


def format_agreement(result: Dict[str, object]) -> str:
    """A Markdown table of :func:`version_agreement`."""
    lines = [f"ner-uk 1.0 vs 2.0 mapped to 1.0's types, {result['docs']} documents matched by "
             f"text (1.0 unmatched: {len(result['unmatched_v1'])}, 2.0 bruk unmatched: "
             f"{len(result['unmatched_v2'])}); strict span + type, 1.0 as reference",
             ""]
    rows = [[label, f"{s['v1']:,}", f"{s['v2']:,}", f"{s['agree']:,}", f"{s['other_type']:,}",
             f"{s['p']:.2f}", f"{s['r']:.2f}", f"{s['f']:.2f}"] for label, s in result["types"].items()]
    lines.append(markdown_table(["type", "1.0", "2.0 mapped", "agree", "same span, other type",
                                 "P", "R", "F1"], rows).rstrip("\n"))
    return "\n".join(lines)


def write_agreement(path: PathLike, output: Optional[PathLike] = None,
                    warn: Callable[[str], None] = lambda message: None) -> List[str]:
    """Compute, print-ready lines; written to ``output`` (Markdown) when given; each
    document or line that could not be read goes to ``warn``."""
    result = version_agreement(path)
    for message in result["skipped"]:
        warn(message)
    text = format_agreement(result)
    if output is not None:
        write_text(output, markdown_marker("ner-uk-agreement") + "\n\n" + text + "\n")
    return text.split("\n")
