"""Command line: ``python -m spacy_rnn_ner {convert,report,compare,compare-decoding,pretrain-text,vectors,annotate,track} ...``."""
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {
        "convert": "spacy_rnn_ner.converters.cli",
        "report": "spacy_rnn_ner.report.cli",
        "compare": "spacy_rnn_ner.report.compare",
        "compare-decoding": "spacy_rnn_ner.report.decoding",
        "pretrain-text": "spacy_rnn_ner.pretraining_text",
        "vectors": "spacy_rnn_ner.vectors",
    }
    if argv and argv[0] in ("annotate", "track"):  # typer commands (spacy_rnn_ner/cli/)
        from .cli import app

        app(args=argv, prog_name="python -m spacy_rnn_ner")  # exits
        return 0
    if not argv or argv[0] not in commands:
        print("usage: python -m spacy_rnn_ner {convert,report,compare,compare-decoding,pretrain-text,vectors,annotate,track} ...  (--help per command)")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    import importlib

    module = importlib.import_module(commands[argv[0]])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
