"""What the layers keep between batches without it being part of the model.

- :func:`transient`: an object computed from a model's state (a lookup table, a cache)
  kept in the model's ``attrs`` but never pickled, copied or serialized with it: a model
  sent to a ``spawn`` worker, or a copy, builds it again.
- :class:`LRUCache`: a bounded, thread-safe least-recently-used mapping (``nlp.pipe``
  from several threads, a long-running server).
- :class:`RowCache`: the same for computed rows of a table, kept in one array on the
  device (vectors of words, feature rows of words).
"""
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable, List, Optional, Sequence, TypeVar

from thinc.api import Model, Ops
from thinc.types import Floats2d

T = TypeVar("T")
_LOCK = threading.Lock()


class Transient:
    """Holder of a :func:`transient` object: pickled and copied empty."""

    def __init__(self) -> None:
        self.source: Any = None
        self.value: Any = None

    def __reduce__(self):
        return (Transient, ())

    def __deepcopy__(self, memo) -> "Transient":
        return Transient()


def transient(model: Model, name: str, source: Any, build: Callable[[], T]) -> T:
    """``model.attrs[name]``'s object, built by ``build()`` the first time and again
    when ``source`` (what it is computed from: a vectors table, word lists) is no longer
    the same object."""
    with _LOCK:
        holder = model.attrs.get(name)
        if not isinstance(holder, Transient):
            holder = model.attrs[name] = Transient()
        if holder.value is None or holder.source is not source:
            holder.source, holder.value = source, build()
        return holder.value


def _one(value: Any) -> int:
    return 1


class LRUCache:
    """Values per key, at most ``capacity`` units in all (``size(value)`` each, 1 by
    default); the least recently used go first. Thread-safe; pickled and copied empty,
    with the same bounds."""

    def __init__(self, capacity: int, size: Callable[[Any], int] = _one) -> None:
        self.capacity = capacity
        self.size = size
        self.entries: "OrderedDict[Hashable, Any]" = OrderedDict()
        self.used = 0
        self._lock = threading.Lock()

    def __reduce__(self):
        return (type(self), (self.capacity, self.size))

    def __deepcopy__(self, memo) -> "LRUCache":
        return type(self)(self.capacity, self.size)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: Hashable) -> Optional[Any]:
        return self.get_many([key])[0]

    def get_many(self, keys: Sequence[Hashable]) -> List[Optional[Any]]:
        """The value of each key (None where there is none), under one lock."""
        with self._lock:
            entries = self.entries
            found = [entries.get(key) for key in keys]
            for key, value in zip(keys, found):
                if value is not None:
                    entries.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Any) -> None:
        self.put_many([key], [value])

    def put_many(self, keys: Sequence[Hashable], values: Sequence[Any]) -> None:
        with self._lock:
            for key, value in zip(keys, values):
                size = self.size(value)
                if size > self.capacity or key in self.entries:
                    continue
                self.entries[key] = value
                self.used += size
            while self.used > self.capacity:
                _, dropped = self.entries.popitem(last=False)
                self.used -= self.size(dropped)


class RowCache:
    """Rows of a computed table per key, kept across batches (running text repeats its
    words) in one table on the device of ``ops``: at most ``max_rows``, the least
    recently used replaced first. ``compute(keys)`` gives the rows of keys not kept.
    Thread-safe (one lock around each lookup)."""

    def __init__(self, compute: Callable[[List[Hashable]], Floats2d], ops: Ops, width: int, max_rows: int) -> None:
        self.compute = compute
        self.ops = ops
        self.width = width
        self.max_rows = max_rows
        self.rows: "OrderedDict[Hashable, int]" = OrderedDict()  # key -> row of table, oldest first
        self.table = ops.alloc2f(0, width)
        self._lock = threading.Lock()

    def get(self, keys: Sequence[Hashable]) -> Floats2d:
        """The rows of distinct ``keys`` (a list, or a host array of ints), on the device."""
        keys = keys.tolist() if hasattr(keys, "tolist") else list(keys)
        if len(keys) > self.max_rows:  # more than the cache holds: computed, not kept
            return self.compute(keys)
        ops = self.ops
        with self._lock:
            rows = self.rows
            missing = []
            for key in keys:
                if key in rows:
                    rows.move_to_end(key)
                else:
                    missing.append(key)
            if missing:
                free = self._free_rows(len(missing))
                self.table[ops.asarray1i(free)] = self.compute(missing)
                rows.update(zip(missing, free))
            return self.table[ops.asarray1i([rows[key] for key in keys])]

    def clear(self) -> None:
        with self._lock:
            self.rows.clear()
            self.table = self.ops.alloc2f(0, self.width)

    def _free_rows(self, n: int) -> List[int]:
        """``n`` rows to fill: new ones while the table may grow, then those of the
        least recently used keys."""
        size = len(self.rows)
        new = list(range(size, min(size + n, self.max_rows)))
        if new and new[-1] >= self.table.shape[0]:  # grow (doubling) up to max_rows
            grown = self.ops.alloc2f(min(max(2 * self.table.shape[0], new[-1] + 1), self.max_rows), self.width)
            grown[: self.table.shape[0]] = self.table
            self.table = grown
        return new + [self.rows.popitem(last=False)[1] for _ in range(n - len(new))]
