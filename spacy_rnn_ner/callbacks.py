"""Registered callbacks for training configs.

``spacy_rnn_ner.torch_threads.v1``: for ``[initialize.before_init]``, sets the number of
threads PyTorch uses in the training process. The floating-point sums of a training step
depend on it, so a config that fixes it trains the same model on a 2-core laptop and a
64-core server (``spacy train`` with ``--system.seed`` is otherwise deterministic on
CPU). It runs at ``initialize`` only: loading a trained pipeline leaves the user's torch
settings alone. Before spaCy loads ``[initialize] vectors``, a missing vectors folder is
reported as a config error (spaCy's own error for it is a traceback).
"""
from typing import Callable

import torch
from spacy.language import Language
from spacy.util import registry

from .errors import config_error
from .machine import WORKERS_PER_CORE, worker_cap


@registry.callbacks("spacy_rnn_ner.torch_threads.v1")
def make_torch_threads(threads: int = 1) -> Callable[[Language], Language]:
    """``torch.set_num_threads(threads)`` before the pipeline is initialized (0: leave
    torch's default, one thread per core)."""
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise config_error("initialize.before_init", "threads",
                           f"spacy_rnn_ner.torch_threads.v1: 'threads' must be a non-negative integer, got {threads!r}.")
    if threads > worker_cap():  # a billion threads: libgomp's out-of-memory abort, no option named
        raise config_error("initialize.before_init", "threads",
                           f"spacy_rnn_ner.torch_threads.v1: 'threads' {threads}: at most {worker_cap()} "
                           f"on this machine ({WORKERS_PER_CORE} per CPU core).")

    def set_threads(nlp: Language) -> Language:
        if threads:
            torch.set_num_threads(threads)
        check_vectors_setting(nlp)
        return nlp

    return set_threads


def check_vectors_setting(nlp: Language) -> None:
    """A config error when ``[initialize] vectors`` names neither a folder nor an
    installed package (``--paths.vectors``)."""
    from pathlib import Path

    from spacy.util import is_package

    vectors = nlp.config.interpolate().get("initialize", {}).get("vectors")
    if vectors and not Path(str(vectors)).exists() and not is_package(str(vectors)):
        raise config_error("initialize", "vectors", f"initialize.vectors: {vectors}: no such folder "
                           "or installed package (make it with vectors-import, or give "
                           "--paths.vectors null)")
