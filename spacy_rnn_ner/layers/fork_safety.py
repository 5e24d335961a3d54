"""Keep PyTorch usable in forked worker processes (``nlp.pipe(..., n_process=N)``).

spaCy starts its workers with ``fork`` where that is the platform default. PyTorch's
OpenMP thread pool does not survive a fork: the child's first parallel op can hang.
A forked child therefore runs PyTorch single-threaded, which is also what N worker
processes on N cores want, but only once it runs one of this package's layers: other
forked children of the host process (web-server workers, data-loader workers) keep
their torch settings.
"""
import os

import torch

_forked = False


def _mark_forked() -> None:
    global _forked
    _forked = True


def ensure_torch_after_fork() -> None:
    """Called by the layers before they run torch: single-threaded in a forked child."""
    global _forked
    if _forked:
        torch.set_num_threads(1)
        _forked = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_mark_forked)
