"""What the layers keep between batches without it being part of the model.

- :func:`transient`: an object computed from a model's state (a lookup table, a cache)
  kept in the model's ``attrs`` but never pickled, copied or serialized with it: a model
  sent to a ``spawn`` worker, or a copy, builds it again.
- :class:`LRUCache`: a bounded, thread-safe least-recently-used mapping (``nlp.pipe``
  from several threads, a long-running server).
"""
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable, List, Optional, Sequence, TypeVar

from thinc.api import Model

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
