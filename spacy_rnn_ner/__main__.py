"""Command line: ``python -m spacy_rnn_ner {convert,report,compare,compare-decoding,pretrain-text,vectors,build-lexicons,lexicon-coverage} ...``."""
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
        "build-lexicons": "spacy_rnn_ner.lexicon_sources",
        "lexicon-coverage": "spacy_rnn_ner.lexicon_coverage",
    }
    if not argv or argv[0] not in commands:
        print("usage: python -m spacy_rnn_ner {convert,report,compare,compare-decoding,pretrain-text,vectors,build-lexicons,lexicon-coverage} ...  (--help per command)")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    import importlib

    module = importlib.import_module(commands[argv[0]])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
