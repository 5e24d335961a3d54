"""``convert FORMAT ...``: NER data to spaCy DocBin (``.spacy``) and back to NeMo.

    convert ner-uk NER_UK_DIR OUT_DIR [--version 1.0|2.0] [--variant tok|raw]
                                      [--dev-fraction 0.1] [--seed 0] [--max-docs N]
                                      [--lang uk] [--split-file PATH]
                                      [--nested outer|inner] [--label-map OLD=NEW,...]
                                      [--extra-train v2.0:ng] [--extra-dev-fraction 0]
    convert conll INPUT OUTPUT.spacy [--lang xx]
    convert hf NAME_OR_PATH OUT_DIR [--split-map train=train,validation=dev,test=test]
                                    [--tokens-column tokens] [--tags-column ner_tags]
                                    [--tag-names O,B-PER,I-PER,...] [--n-sents 1]
    convert nemo TEXT LABELS OUTPUT.spacy [--n-sents 1]
    convert to-nemo INPUT.spacy OUT_DIR [--suffix _train]

Every format takes ``--show-issues N`` and ``--issues-file PATH``; those whose input lines
can be malformed take ``--skip-malformed``. Prints what was read, written and reported.
"""
from enum import Enum
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import typer

from ..converters.report import ConversionReport
from ..file_kinds import AGREEMENT_MARKDOWN, DOCBIN, ISSUES, NEMO_LABELS, TEXT, FileKind
from ..io import OutputFile, check_exists, check_outputs
from ._util import Arg, Group, Opt, app, lang_option

convert_cli = typer.Typer(name="convert", cls=Group, no_args_is_help=True,
                          help="Convert NER data to spaCy DocBin (.spacy) files, or .spacy "
                               "to NeMo text/labels files.")
app.add_typer(convert_cli)


class Variant(str, Enum):
    tok = "tok"
    raw = "raw"


SHOW_ISSUES = Opt(50, "--show-issues", min=0, metavar="N",
                  help="Print at most N issue lines (all are counted).")
ISSUES_FILE = Opt(None, "--issues-file", metavar="PATH", help="Write every issue as TSV.")
SKIP_MALFORMED = Opt(False, "--skip-malformed",
                     help="Skip and report malformed lines instead of stopping.")


def _fraction(value: float) -> float:
    if not 0 <= value < 1:
        raise typer.BadParameter(f"expected a number in [0, 1), got {value}")
    return value


def run_conversion(convert: Callable[[], ConversionReport], show_issues: int,
                   issues_file: Optional[Path], inputs: Sequence[Optional[Path]] = (),
                   outputs: Sequence[Union[Path, OutputFile]] = (), scratch: Sequence[Optional[Path]] = (),
                   kind: FileKind = DOCBIN) -> None:
    """Check the outputs (files of ``kind``, or an :class:`OutputFile` with its own), the issues file and the ``scratch``
    folders (a cache) (:func:`~spacy_rnn_ner.io.check_outputs`), convert, print the
    summary, write the issues."""
    check_outputs([*(path if isinstance(path, OutputFile) else OutputFile(path, kind) for path in outputs),
                   None if issues_file is None else OutputFile(issues_file, ISSUES)],
                  inputs, scratch=scratch)
    report = convert()
    typer.echo(report.format(max_issues=show_issues))
    if issues_file is not None:
        report.write_issues(issues_file)
        typer.echo(f"issues written to {issues_file}")


class Layer(str, Enum):
    outer = "outer"
    inner = "inner"


@convert_cli.command("ner-uk")
def ner_uk_cli(
    corpus: Path = Arg(..., metavar="NER_UK_DIR",
                       help="Folder with v1.0/ and/or v2.0/, or one of them."),
    out_dir: Path = Arg(..., metavar="OUT_DIR", help="Where {train,dev,test}.spacy go."),
    version: str = Opt("1.0", "--version", help="Corpus version: 1.0 (4 types) or 2.0 "
                       "(13 types, sources bruk and ng)."),
    variant: Variant = Opt(Variant.tok, "--variant", help="1.0 only. tok: NAME.tok.txt/"
                           ".tok.ann; raw: NAME.txt/.ann tokenized by spaCy."),
    dev_fraction: float = Opt(0.1, "--dev-fraction", callback=_fraction,
                              help="Share of DEV documents held out as dev."),
    seed: int = Opt(0, "--seed", help="Seed of the dev hold-out."),
    max_docs: int = Opt(0, "--max-docs", min=0, metavar="N",
                        help="Only the first N documents of each split (0: all)."),
    lang: str = lang_option("uk"),
    split_file: Optional[Path] = Opt(None, "--split-file", help="Default: v1.0/dev-test-split"
                                     ".txt or v2.0/data/dev-test-split.txt."),
    nested: Layer = Opt(Layer.outer, "--nested", help="2.0: which layer of nested entities "
                        "goes to doc.ents (all are in doc.spans['ner-uk'])."),
    label_map: Optional[str] = Opt(None, "--label-map", metavar="OLD=NEW,...",
                                   help="2.0 labels renamed, OLD= drops them (reported); "
                                   "'1.0': the 4-type scheme of 1.0 (ART,DOC=MISC, other "
                                   "new types dropped)."),
    extra_train: Optional[str] = Opt(None, "--extra-train", metavar="v2.0:ng",
                                     help="1.0 only: add the 2.0 DEV documents of this "
                                     "source, in the 1.0 scheme (or --label-map), to train."),
    extra_dev_fraction: float = Opt(0.0, "--extra-dev-fraction", callback=_fraction,
                                    help="Share of the --extra-train documents held out "
                                    "as dev (added to 1.0's dev)."),
    skip_malformed: bool = SKIP_MALFORMED,
    show_issues: int = SHOW_ISSUES,
    issues_file: Optional[Path] = ISSUES_FILE,
) -> None:
    """ner-uk brat corpus (1.0 or 2.0) -> OUT_DIR/{train,dev,test}.spacy. DEV documents are
    split into train and dev (seeded document-level hold-out), TEST documents become test."""
    from ..converters.ner_uk import convert_ner_uk
    from ..converters.ner_uk_v2 import parse_label_map

    try:
        labels = parse_label_map(label_map)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--label-map") from None
    sources: tuple = ()
    if extra_train:
        corpus_version, _, names = extra_train.partition(":")
        if corpus_version != "v2.0" or not names:
            raise typer.BadParameter(f"expected v2.0:SOURCE, got {extra_train!r}",
                                     param_hint="--extra-train")
        sources = tuple(names.split(","))
    if split_file is not None:
        check_exists(split_file, "file")
    run_conversion(lambda: convert_ner_uk(corpus, out_dir, variant.value, dev_fraction, seed,
                                          max_docs or None, lang, skip_malformed, split_file,
                                          version, nested.value, labels, sources,
                                          extra_dev_fraction),
                   show_issues, issues_file, [corpus, split_file],
                   [out_dir / f"{split}.spacy" for split in ("train", "dev", "test")])


@convert_cli.command("conll")
def conll_cli(
    input_path: Path = Arg(..., metavar="INPUT", help="CoNLL column file (IOB1/IOB2)."),
    output: Path = Arg(..., metavar="OUTPUT.spacy"),
    lang: str = lang_option("xx"),
    skip_malformed: bool = SKIP_MALFORMED,
    show_issues: int = SHOW_ISSUES,
    issues_file: Optional[Path] = ISSUES_FILE,
) -> None:
    """CoNLL column file -> OUTPUT.spacy."""
    from ..converters.conll import convert_conll

    run_conversion(lambda: convert_conll(input_path, output, lang, skip_malformed),
                   show_issues, issues_file, [input_path], [output])


@convert_cli.command("hf")
def hf_cli(
    source: str = Arg(..., metavar="NAME_OR_PATH",
                      help="Hub name, save_to_disk folder, or parquet/json/csv file(s)."),
    out_dir: Path = Arg(..., metavar="OUT_DIR"),
    split_map: Optional[str] = Opt(None, "--split-map", help="SOURCE=TARGET,... (default "
                                   "train=train,validation=dev,test=test; SOURCE= leaves a "
                                   "split out)."),
    tokens_column: str = Opt("tokens", "--tokens-column"),
    tags_column: str = Opt("ner_tags", "--tags-column"),
    tag_names: Optional[str] = Opt(None, "--tag-names", help="Comma-separated names of "
                                   "integer tags when they are not a ClassLabel."),
    n_sents: int = Opt(1, "--n-sents", min=1, help="Sentences (rows) per Doc."),
    lang: str = lang_option("xx"),
    cache_dir: Optional[Path] = Opt(None, "--cache-dir", help="datasets cache folder."),
    skip_malformed: bool = SKIP_MALFORMED,
    show_issues: int = SHOW_ISSUES,
    issues_file: Optional[Path] = ISSUES_FILE,
) -> None:
    """Hugging Face dataset -> OUT_DIR/<split>.spacy (needs spacy-rnn-ner[hf])."""
    from ..converters.hf import convert_hf, parse_split_map

    try:
        splits = parse_split_map(split_map)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--split-map") from None
    names = tag_names.split(",") if tag_names else None
    run_conversion(lambda: convert_hf(source, out_dir, splits if split_map else None, lang, tokens_column,
                                      tags_column, names, n_sents, skip_malformed, cache_dir),
                   show_issues, issues_file, [Path(source)],
                   [out_dir / f"{target}.spacy" for target in dict.fromkeys(splits.values()) if target],
                   scratch=[cache_dir])


@convert_cli.command("nemo")
def nemo_cli(
    text: Path = Arg(..., metavar="TEXT", help="text.txt: a sentence per line."),
    labels: Path = Arg(..., metavar="LABELS", help="labels.txt: line-aligned IOB tags."),
    output: Path = Arg(..., metavar="OUTPUT.spacy"),
    n_sents: int = Opt(1, "--n-sents", min=1, help="Sentences (lines) per Doc."),
    lang: str = lang_option("xx"),
    skip_malformed: bool = SKIP_MALFORMED,
    show_issues: int = SHOW_ISSUES,
    issues_file: Optional[Path] = ISSUES_FILE,
) -> None:
    """NeMo/TAO text.txt + labels.txt -> OUTPUT.spacy."""
    from ..converters.nemo import convert_nemo

    run_conversion(lambda: convert_nemo(text, labels, output, lang, n_sents, skip_malformed),
                   show_issues, issues_file, [text, labels], [output])


@convert_cli.command("to-nemo")
def to_nemo_cli(
    input_path: Path = Arg(..., metavar="INPUT.spacy"),
    out_dir: Path = Arg(..., metavar="OUT_DIR"),
    suffix: str = Opt("", "--suffix", help="File names text{SUFFIX}.txt, labels{SUFFIX}.txt."),
    show_issues: int = SHOW_ISSUES,
    issues_file: Optional[Path] = ISSUES_FILE,
) -> None:
    """.spacy -> NeMo OUT_DIR/text{SUFFIX}.txt + labels{SUFFIX}.txt."""
    from ..converters.nemo import convert_to_nemo

    if any(c in suffix for c in "/\\\0"):
        raise typer.BadParameter(f"{suffix!r}: part of a file name (no folder)",
                                 param_hint="--suffix")
    run_conversion(lambda: convert_to_nemo(input_path, out_dir, suffix), show_issues,
                   issues_file, [input_path],
                   [out_dir / f"text{suffix}.txt", OutputFile(out_dir / f"labels{suffix}.txt", NEMO_LABELS)],
                   kind=TEXT)


@app.command("ner-uk-agreement")
def ner_uk_agreement_cli(
    corpus: Path = Arg(..., metavar="NER_UK_DIR", help="Folder with v1.0/ and v2.0/."),
    output: Optional[Path] = Opt(None, "--output", help="Also write the table (Markdown)."),
) -> None:
    """Agreement of ner-uk 2.0 mapped to 1.0's 4 types (ART, DOC -> MISC; other new types
    dropped) with 1.0 on the documents both annotate: strict span + type, per type."""
    from ..converters.ner_uk_agreement import write_agreement

    check_outputs([None if output is None else OutputFile(output, AGREEMENT_MARKDOWN)], [corpus])
    lines = write_agreement(corpus, output,
                            warn=lambda message: typer.echo(f"warning: {message}", err=True))
    typer.echo("\n".join(lines))
