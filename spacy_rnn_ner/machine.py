"""What this machine allows: the most worker processes or threads an option or a config
setting may ask for (a million workers end in "Too many open files", a billion torch
threads in libgomp's out-of-memory abort, neither naming the setting)."""
import os

#: worker processes or threads per CPU core beyond which a count is refused
WORKERS_PER_CORE = 4
#: ... but never fewer than this many are allowed
MIN_WORKER_CAP = 16


def worker_cap() -> int:
    """The most worker processes or threads an option may ask for on this machine."""
    return max(WORKERS_PER_CORE * (os.cpu_count() or 1), MIN_WORKER_CAP)
