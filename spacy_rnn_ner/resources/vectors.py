"""Static word vectors trained locally with floret (subword hashing, so no word is
out of vocabulary), for ``spacy init vectors LANG FILE DIR --mode floret``.

``python -m spacy_rnn_ner vectors TEXT.txt OUTPUT.floret [--dim 100 --epoch 10 ...]``
"""
import codecs
import shutil
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import InputError, import_optional
from ..io import check_exists, check_not_input, check_utf8_file, check_writable, has_bom


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
    check_utf8_file(text)
    check_not_input(output, [text])
    check_writable(output)
    floret = import_optional("floret", "vectors", "training vectors")
    source = text
    bom = ExitStack()  # floret reads the file itself: give it one without the BOM
    text = bom.enter_context(without_bom(text))
    try:
        model = floret.train_unsupervised(
            str(text), model="cbow", mode="floret", hashCount=2, bucket=bucket, minn=minn,
            maxn=maxn, dim=dim, epoch=epoch, minCount=min_count, thread=threads, verbose=0,
        )
    except ValueError as err:  # floret: "Empty vocabulary. Try a smaller -minCount value."
        raise InputError(f"floret cannot train on it ({err}; --min-count is {min_count})",
                         source) from None
    finally:
        bom.close()
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save_floret_vectors(str(output))


@contextmanager
def without_bom(text: Path) -> Iterator[Path]:
    """``text`` itself, or a temporary copy without its UTF-8 byte-order mark (floret
    would read the mark as part of the first word)."""
    if not has_bom(text):
        yield Path(text)
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / Path(text).name
        with open(text, "rb") as src, open(copy, "wb") as dst:
            src.read(len(codecs.BOM_UTF8))
            shutil.copyfileobj(src, dst)
        yield copy
