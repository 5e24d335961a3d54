"""Static word vectors trained locally with floret (subword hashing, so no word is
out of vocabulary), for ``spacy init vectors LANG FILE DIR --mode floret``.

``python -m spacy_rnn_ner vectors TEXT.txt OUTPUT.floret [--dim 100 --epoch 10 ...]``
"""
from pathlib import Path

from ..errors import InputError, import_optional
from ..io import check_exists


def train_floret_vectors(
    text: Path, output: Path, dim: int = 100, epoch: int = 10, bucket: int = 50000,
    minn: int = 3, maxn: int = 5, min_count: int = 2, threads: int = 2,
) -> None:
    """Train CBOW floret vectors on a tokenized text file (one line per sentence).
    With ``threads=1`` the result is deterministic. Sizes below 1 (``dim``, ``epoch``,
    ``bucket``, ``min_count``, ``threads``; ``minn > maxn``) and an empty text file are
    an :class:`InputError`."""
    for name, value in (("dim", dim), ("epoch", epoch), ("bucket", bucket),
                        ("min_count", min_count), ("threads", threads)):
        if value < 1:
            raise InputError(f"{name} must be at least 1, got {value}")
    if not 0 < minn <= maxn:
        raise InputError(f"expected 0 < minn <= maxn, got minn={minn}, maxn={maxn}")
    if check_exists(text, "file").stat().st_size == 0:
        raise InputError("the pretraining text is empty", text)
    floret = import_optional("floret", "vectors", "training vectors")
    model = floret.train_unsupervised(
        str(text), model="cbow", mode="floret", hashCount=2, bucket=bucket, minn=minn,
        maxn=maxn, dim=dim, epoch=epoch, minCount=min_count, thread=threads, verbose=0,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save_floret_vectors(str(output))
