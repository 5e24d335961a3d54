"""``python -m spacy_rnn_ner convert FORMAT ...``: the converters' command line.

    convert ner-uk NER_UK_DIR OUT_DIR [--variant tok|raw] [--dev-fraction 0.1] [--seed 0]
                                      [--max-docs N] [--lang uk] [--split-file PATH]
    convert conll INPUT OUTPUT.spacy [--lang xx]
    convert hf NAME_OR_PATH OUT_DIR [--split-map train=train,validation=dev,test=test]
                                    [--tokens-column tokens] [--tags-column ner_tags]
                                    [--tag-names O,B-PER,I-PER,...] [--n-sents 1]
    convert nemo TEXT LABELS OUTPUT.spacy [--n-sents 1]
    convert to-nemo INPUT.spacy OUT_DIR [--suffix _train]

Every command also takes ``--skip-malformed`` (where input lines can be malformed),
``--show-issues N`` and ``--issues-file PATH``. Prints a summary table; exit status 1 with
a one-line ``error:`` message on missing paths or malformed input.
"""
import argparse
import sys
from typing import List, Optional

from .report import ConversionError, ConversionReport


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _max_docs(text: str) -> Optional[int]:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 (all) or a positive integer, got {text}")
    return value or None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--show-issues", type=int, default=50, metavar="N",
                        help="print at most N issue lines (default 50; all are counted)")
    common.add_argument("--issues-file", metavar="PATH", help="write every issue as TSV")
    skip = argparse.ArgumentParser(add_help=False)
    skip.add_argument("--skip-malformed", action="store_true",
                      help="skip and count malformed lines instead of stopping")

    parser = argparse.ArgumentParser(prog="python -m spacy_rnn_ner convert",
                                     description="Convert NER data to spaCy DocBin (.spacy).")
    sub = parser.add_subparsers(dest="format", required=True, metavar="FORMAT")

    p = sub.add_parser("ner-uk", parents=[common, skip], help="ner-uk v1.0 brat corpus",
                       description="ner-uk v1.0 -> OUT_DIR/{train,dev,test}.spacy. DEV "
                       "documents are split into train and dev (seeded document-level "
                       "hold-out), TEST documents become test.")
    p.add_argument("corpus", metavar="NER_UK_DIR", help="folder with v1.0/, or v1.0 itself")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--variant", choices=("tok", "raw"), default="tok",
                   help="tok: NAME.tok.txt/.tok.ann (default); raw: NAME.txt/.ann "
                   "tokenized by spaCy")
    p.add_argument("--dev-fraction", type=float, default=0.1,
                   help="share of DEV documents held out as dev (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the dev hold-out (default 0)")
    p.add_argument("--max-docs", type=_max_docs, default=None, metavar="N",
                   help="only the first N documents of each split (quick runs; 0: all)")
    p.add_argument("--lang", default="uk", help="spaCy language (default uk)")
    p.add_argument("--split-file", default=None, help="default: v1.0/dev-test-split.txt")

    p = sub.add_parser("conll", parents=[common, skip], help="CoNLL column file (IOB1/IOB2)")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("output", metavar="OUTPUT.spacy")
    p.add_argument("--lang", default="xx")

    p = sub.add_parser("hf", parents=[common, skip], help="Hugging Face dataset")
    p.add_argument("source", metavar="NAME_OR_PATH",
                   help="Hub name, save_to_disk folder, or parquet/json/csv file(s)")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--split-map", default=None,
                   help="SOURCE=TARGET,... (default train=train,validation=dev,test=test; "
                   "SOURCE= leaves a split out)")
    p.add_argument("--tokens-column", default="tokens")
    p.add_argument("--tags-column", default="ner_tags")
    p.add_argument("--tag-names", default=None,
                   help="comma-separated names of integer tags when not a ClassLabel")
    p.add_argument("--n-sents", type=_positive_int, default=1, help="sentences (rows) per Doc")
    p.add_argument("--lang", default="xx")
    p.add_argument("--cache-dir", default=None, help="datasets cache folder")

    p = sub.add_parser("nemo", parents=[common, skip], help="NeMo text.txt + labels.txt")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("labels", metavar="LABELS")
    p.add_argument("output", metavar="OUTPUT.spacy")
    p.add_argument("--n-sents", type=_positive_int, default=1, help="sentences (lines) per Doc")
    p.add_argument("--lang", default="xx")

    p = sub.add_parser("to-nemo", parents=[common], help=".spacy -> NeMo text/labels files")
    p.add_argument("input", metavar="INPUT.spacy")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--suffix", default="", help="file names text{SUFFIX}.txt, "
                   "labels{SUFFIX}.txt")
    return parser


def run(args: argparse.Namespace) -> ConversionReport:
    """Run the conversion described by parsed ``args``."""
    if args.format == "ner-uk":
        from .brat import convert_ner_uk

        return convert_ner_uk(args.corpus, args.out_dir, args.variant, args.dev_fraction,
                              args.seed, args.max_docs, args.lang, args.skip_malformed,
                              args.split_file)
    if args.format == "conll":
        from .conll import convert_conll

        return convert_conll(args.input, args.output, args.lang, args.skip_malformed)
    if args.format == "hf":
        from .hf import convert_hf, parse_split_map

        tag_names = args.tag_names.split(",") if args.tag_names else None
        return convert_hf(args.source, args.out_dir, parse_split_map(args.split_map),
                          args.lang, args.tokens_column, args.tags_column, tag_names,
                          args.n_sents, args.skip_malformed, args.cache_dir)
    if args.format == "nemo":
        from .nemo import convert_nemo

        return convert_nemo(args.text, args.labels, args.output, args.lang, args.n_sents,
                            args.skip_malformed)
    from .nemo import convert_to_nemo

    return convert_to_nemo(args.input, args.out_dir, args.suffix)


def main(argv: Optional[List[str]] = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), convert, print the summary. Returns the
    exit status: 0 done, 1 conversion error or missing path, 2 usage error."""
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        report = run(args)
    except (ConversionError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(report.format(max_issues=args.show_issues))
    if args.issues_file:
        report.write_issues(args.issues_file)
        print(f"issues written to {args.issues_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
