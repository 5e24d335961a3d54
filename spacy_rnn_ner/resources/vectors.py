"""Static word vectors trained locally with floret (subword hashing, so no word is
out of vocabulary), for ``spacy init vectors LANG FILE DIR --mode floret``.

``python -m spacy_rnn_ner vectors TEXT.txt OUTPUT.floret [--dim 100 --epoch 10 --seed 0 ...]``

Determinism: floret trains Hogwild-style, so with several threads the output differs
between runs; with one thread (the default) it is the same bytes every run. floret's
``train_unsupervised`` takes no seed (its random state is fixed inside), so ``seed``
shuffles the order of the text's lines instead: the same seed gives the same vectors,
another seed other vectors of the same quality.
"""
import codecs
import random
import shutil
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator, Optional

from ..errors import InputError, import_optional
from ..io import check_exists, check_not_input, check_utf8_file, check_writable, has_bom

DEFAULT_THREADS = 1


def train_floret_vectors(
    text: Path, output: Path, dim: int = 100, epoch: int = 10, bucket: int = 50000,
    minn: int = 3, maxn: int = 5, min_count: int = 2, threads: int = DEFAULT_THREADS,
    seed: Optional[int] = None,
) -> None:
    """Train CBOW floret vectors on a tokenized text file (one line per sentence).
    With ``threads=1`` the result is deterministic; ``seed`` (``None``: the file's order)
    shuffles the lines first. Sizes below 1 (``dim``, ``epoch``, ``bucket``,
    ``min_count``, ``threads``; ``minn > maxn``) and an empty text file are an
    :class:`InputError`."""
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
    files = ExitStack()  # floret reads the file itself: without the BOM, in seed's order
    text = files.enter_context(without_bom(text))
    if seed is not None:
        tmp = Path(files.enter_context(tempfile.TemporaryDirectory()))
        text = shuffled_lines(text, tmp / "text.txt", seed)
    try:
        model = floret.train_unsupervised(
            str(text), model="cbow", mode="floret", hashCount=2, bucket=bucket, minn=minn,
            maxn=maxn, dim=dim, epoch=epoch, minCount=min_count, thread=threads, verbose=0,
        )
    except ValueError as err:  # floret: "Empty vocabulary. Try a smaller -minCount value."
        raise InputError(f"floret cannot train on it ({err}; --min-count is {min_count})",
                         source) from None
    finally:
        files.close()
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save_floret_vectors(str(output))


def shuffled_lines(text: Path, output: Path, seed: int) -> Path:
    """Write the lines of ``text`` to ``output`` in an order fixed by ``seed``."""
    with open(text, "rb") as f:
        lines = f.read().splitlines()
    random.Random(seed).shuffle(lines)
    with open(output, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    return output


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
