"""Static word vectors trained locally with floret (subword hashing, so no word is
out of vocabulary), for ``spacy init vectors LANG FILE DIR --mode floret``.

``python -m spacy_rnn_ner vectors TEXT.txt OUTPUT.floret [--dim 100 --epoch 10 ...]``
"""
import argparse
import sys
import time
from pathlib import Path
from typing import Iterable, Optional


def train_floret_vectors(
    text: Path, output: Path, dim: int = 100, epoch: int = 10, bucket: int = 50000,
    minn: int = 3, maxn: int = 5, min_count: int = 2, threads: int = 2,
) -> None:
    """Train CBOW floret vectors on a tokenized text file (one line per sentence).
    With ``threads=1`` the result is deterministic."""
    try:
        import floret
    except ImportError as err:
        raise ImportError("training vectors needs floret: pip install 'spacy-rnn-ner[vectors]'") from err
    model = floret.train_unsupervised(
        str(text), model="cbow", mode="floret", hashCount=2, bucket=bucket, minn=minn,
        maxn=maxn, dim=dim, epoch=epoch, minCount=min_count, thread=threads, verbose=0,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save_floret_vectors(str(output))


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spacy_rnn_ner vectors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", type=Path, help="tokenized text, one sentence per line")
    parser.add_argument("output", type=Path, help="output .floret file")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--epoch", type=int, default=10)
    parser.add_argument("--bucket", type=int, default=50000)
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="1: deterministic")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not args.text.exists():
        print(f"error: input path not found: {args.text}", file=sys.stderr)
        return 1
    start = time.time()
    train_floret_vectors(args.text, args.output, dim=args.dim, epoch=args.epoch, bucket=args.bucket,
                         min_count=args.min_count, threads=args.threads)
    print(f"wrote {args.output} ({args.dim}-d floret vectors) in {time.time() - start:.0f} s")
    return 0
