"""Peak memory of a piece of work, as the kernel counts it (Linux ``/proc``): torch's
allocator included, which ``tracemalloc`` cannot see."""
from contextlib import contextmanager
from typing import Dict, Iterator


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


@contextmanager
def extra_peak_rss() -> Iterator[Dict[str, float]]:
    """Measure the block: the yielded dict's ``"mib"`` is, once the block ends, the
    peak resident memory during it over the resident memory before it (MiB)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")  # reset the peak (VmHWM) to the current RSS
    before = _status_kib("VmRSS:")
    result = {"mib": 0.0}
    yield result
    result["mib"] = (_status_kib("VmHWM:") - before) / 1024
