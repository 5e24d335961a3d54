"""Static word vectors trained locally with floret (subword hashing, so no word is
out of vocabulary), for ``spacy init vectors LANG FILE DIR --mode floret``.

``python -m spacy_rnn_ner vectors TEXT.txt OUTPUT.floret [--dim 100 --epoch 10 --seed 0 ...]``

Determinism: floret trains Hogwild-style, so with several threads the output differs
between runs; with one thread (the default) it is the same bytes every run. floret's
``train_unsupervised`` takes no seed (its random state is fixed inside), so ``seed``
shuffles the order of the text's lines instead: the same seed gives the same vectors,
another seed other vectors of the same quality.


Interrupts: floret trains and saves in native code, which would not return to Python
until it is done, so it runs in a child process (:data:`FLORET_JOB`): Ctrl-C and SIGTERM
stop the parent at once, which ends the child and removes the temporary files (the
shuffled copy of the text, the half-written ``.floret``, written atomically).
"""
import codecs
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

from ..errors import InputError, import_optional
from ..file_kinds import FLORET
from ..io import OutputFile, atomic_path, check_exists, check_outputs, check_utf8_file, has_bom

DEFAULT_THREADS = 1
#: exit statuses of :data:`FLORET_JOB`: floret refused the text / trained no word
EXIT_REFUSED, EXIT_NO_WORD = 3, 4
#: the child process: train on ``job["text"]`` with ``job["settings"]``, save the
#: vectors to ``job["output"]``; settings as JSON in ``argv[1]``. Ctrl-C is the parent's
#: to handle (it ends the child).
FLORET_JOB = f"""
import json, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
job = json.loads(sys.argv[1])
import floret
try:
    model = floret.train_unsupervised(job["text"], **job["settings"])
except ValueError as err:
    sys.stderr.write(str(err))
    sys.exit({EXIT_REFUSED})
if not [word for word in model.get_words() if word != "</s>"]:
    sys.exit({EXIT_NO_WORD})
model.save_floret_vectors(job["output"])
"""


def _has_a_word(path: Path) -> bool:
    """Whether the file holds anything but whitespace (read until the first such byte)."""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            if chunk.strip():
                return True
    return False


def train_floret_vectors(
    text: Path, output: Path, dim: int = 100, epoch: int = 10, bucket: int = 50000,
    minn: int = 3, maxn: int = 5, min_count: int = 2, threads: int = DEFAULT_THREADS,
    seed: Optional[int] = None,
) -> None:
    """Train CBOW floret vectors on a tokenized text file (one line per sentence) and
    write them to ``output`` atomically. With ``threads=1`` the result is deterministic;
    ``seed`` (``None``: the file's order) shuffles the lines first. Sizes below 1
    (``dim``, ``epoch``, ``bucket``, ``min_count``, ``threads``; ``minn > maxn``), an empty
    text file and a text where no word occurs ``min_count`` times are an
    :class:`InputError`."""
    for name, value in (("dim", dim), ("epoch", epoch), ("bucket", bucket),
                        ("min_count", min_count), ("threads", threads)):
        if value < 1:
            raise InputError(f"{name} must be at least 1, got {value}")
    if not 0 < minn <= maxn:
        raise InputError(f"expected 0 < minn <= maxn, got minn={minn}, maxn={maxn}")
    check_table_fits(dim, bucket)
    if check_exists(text, "file").stat().st_size == 0:
        raise InputError("the pretraining text is empty", text)
    if not _has_a_word(text):
        raise InputError("the pretraining text holds no words (only blank lines and spaces)", text)
    check_utf8_file(text)
    check_outputs([OutputFile(output, FLORET)], [text])
    import_optional("floret", "vectors", "training vectors")
    settings = dict(model="cbow", mode="floret", hashCount=2, bucket=bucket, minn=minn,
                    maxn=maxn, dim=dim, epoch=epoch, minCount=min_count, thread=threads,
                    verbose=0)
    with ExitStack() as files:  # floret reads the file itself: without the BOM, in seed's order
        read = files.enter_context(without_bom(text))
        if seed is not None:
            tmp = Path(files.enter_context(tempfile.TemporaryDirectory()))
            read = shuffled_lines(read, tmp / "text.txt", seed)
        written = files.enter_context(atomic_path(output))
        run_floret({"text": str(read), "output": str(written), "settings": settings}, text)


def memory_size() -> Optional[int]:
    """The machine's memory in bytes (``None`` where it cannot be told)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n_bytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:,.0f} {unit}"
        n_bytes /= 1024
    return ""


def check_table_fits(dim: int, bucket: int) -> None:
    """An :class:`InputError` naming ``--dim`` and ``--bucket`` when floret's table of
    ``bucket`` rows of ``dim`` floats (and as much again while training) cannot fit in the
    machine's memory: floret would fail with ``std::bad_alloc`` after reading the text."""
    total = memory_size()
    needed = 2 * 4 * dim * bucket
    if total is not None and needed > total:
        raise InputError(f"--dim {dim} x --bucket {bucket}: floret's vectors table needs about "
                         f"{_size(needed)} of memory, more than this machine has ({_size(total)}); "
                         "lower --dim or --bucket")


def run_floret(job: Dict[str, Any], text: Path) -> None:
    """Run :data:`FLORET_JOB` and wait for it; an interrupt of this process ends it.
    floret's refusals are an :class:`InputError` naming ``text``."""
    process = subprocess.Popen([sys.executable, "-c", FLORET_JOB, json.dumps(job)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, err = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    min_count = job["settings"]["minCount"]
    if process.returncode == EXIT_REFUSED:  # "Empty vocabulary. Try a smaller -minCount value."
        raise InputError(f"floret cannot train on it ({err.strip()}; --min-count is "
                         f"{min_count})", text)
    if process.returncode == EXIT_NO_WORD:
        raise InputError(f"no word occurs --min-count {min_count} times: no vectors to "
                         "train (lower --min-count or give more text)", text)
    if process.returncode != 0 and ("bad_alloc" in err or "MemoryError" in err):
        settings = job["settings"]
        raise InputError(f"floret ran out of memory (--dim {settings['dim']}, --bucket "
                         f"{settings['bucket']}, and the words of {text}): lower --dim or --bucket")
    if process.returncode != 0:
        lines = err.strip().splitlines()
        raise InputError(f"floret failed (status {process.returncode}"
                         f"{': ' + lines[-1] if lines else ''})", text)


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
