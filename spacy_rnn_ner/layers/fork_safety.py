"""Keep PyTorch usable in forked worker processes (``nlp.pipe(..., n_process=N)``).

spaCy starts its workers with ``fork``. PyTorch's OpenMP thread pool does not survive
a fork: the child's first parallel op would hang. Each forked child therefore runs
PyTorch single-threaded, which is also what N worker processes on N cores want.
"""
import os

import torch


def _single_threaded_torch() -> None:
    torch.set_num_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_single_threaded_torch)
