"""Command line: ``python -m spacy_rnn_ner COMMAND ...`` (see :mod:`spacy_rnn_ner.cli`)."""
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    """Run a command on ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from .cli import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
