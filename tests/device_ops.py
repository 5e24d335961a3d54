"""A stand-in for a GPU on the CPU: thinc ops whose arrays behave as device arrays.

On a GPU, thinc's ``CupyOps`` hands out CuPy arrays, spaCy moves the vectors table to the
device (``Vectors.to_ops``) and ``torch2xp`` turns CUDA tensors into CuPy arrays; a CuPy
array refuses ``numpy.asarray`` (and every other numpy function) and cannot be mixed
with a numpy array in arithmetic. :func:`device_ops` reproduces that on the CPU:

- :class:`DeviceOps` (a ``NumpyOps``) returns :class:`DeviceArray` s, an ``ndarray``
  subclass that stays a device array through ``ops.xp``, arithmetic, indexing and the
  numpy functions thinc and spaCy call on it (as they would call CuPy's);
- arithmetic mixing a device array with a host (numpy) array raises, as CuPy does;
- in the modules of ``spacy_rnn_ner`` the name ``numpy`` is replaced by a guard whose
  functions raise on a device array, and ``torch2xp`` returns device arrays; the one
  explicit transfer, ``ops.to_numpy``, gives a host array.

So a numpy conversion of a device array in the package's predict or update path fails
here, in CI, as it would on a GPU.
"""
import contextlib
import importlib
import sys
import types
from typing import Any, Iterator

import numpy
import pytest
from thinc.api import NumpyOps, get_current_ops, set_current_ops

PACKAGE = "spacy_rnn_ner"
# the modules of the predict and update paths (imported before the guard goes in)
MODULES = (
    "spacy_rnn_ner.pipeline_component",
    "spacy_rnn_ner.architectures",
    "spacy_rnn_ner.layers.rnn_tagger",
    "spacy_rnn_ner.layers.crf",
    "spacy_rnn_ner.layers.packed_rnn",
    "spacy_rnn_ner.layers.char_cnn",
    "spacy_rnn_ner.layers.unique_words",
    "spacy_rnn_ner.layers.caches",
    "spacy_rnn_ner.layers.floret_rows",
    "spacy_rnn_ner.layers.lexicon_features",
    "spacy_rnn_ner.layers.long_segments",
    "spacy_rnn_ner.layers.doc_context",
)


class DeviceArray(numpy.ndarray):
    """An array 'on the device': numpy functions keep it there; mixing it with a host
    array in arithmetic raises (CuPy: 'Unsupported type <class numpy.ndarray>')."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for value in inputs + tuple(kwargs.get("out", ())):
            if type(value) is numpy.ndarray and value.ndim > 0:
                raise TypeError(f"{ufunc.__name__}.{method}: a device array mixed with a host numpy array")
        inputs = tuple(_host_view(value) for value in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_host_view(value) for value in kwargs["out"])
        return on_device(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        return on_device(super().__array_function__(func, (numpy.ndarray,), args, kwargs))


def _host_view(value: Any) -> Any:
    return value.view(numpy.ndarray) if isinstance(value, DeviceArray) else value


def on_device(value: Any) -> Any:
    """Host arrays (also inside a list or tuple) as device arrays."""
    if type(value) is numpy.ndarray:
        return value.view(DeviceArray)
    if type(value) in (list, tuple):
        return type(value)(on_device(v) for v in value)
    return value


def holds_device_array(value: Any) -> bool:
    if isinstance(value, DeviceArray):
        return True
    if isinstance(value, (list, tuple)):
        return any(holds_device_array(v) for v in value)
    if isinstance(value, dict):
        return any(holds_device_array(v) for v in value.values())
    return False


class _OnDevice:
    """A numpy function (or module) whose results are device arrays: ``DeviceOps.xp``."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __call__(self, *args, **kwargs):
        return on_device(self._target(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if isinstance(attr, types.ModuleType) or (callable(attr) and not isinstance(attr, type)):
            return _OnDevice(attr)
        return attr


class _HostOnly:
    """The name ``numpy`` in the package's modules: its functions refuse device arrays,
    as ``numpy.asarray(cupy_array)`` does."""

    def __init__(self, target: Any, path: str = "numpy") -> None:
        self._target = target
        self._path = path

    def __call__(self, *args, **kwargs):
        if holds_device_array(args) or holds_device_array(kwargs):
            raise TypeError(
                f"{self._path}() got a device array: on a GPU this is a CuPy array, which numpy "
                "refuses (implicit conversion). Use model.ops (ops.xp, ops.asarray*) on device "
                "arrays and ops.to_numpy for the one transfer to the host."
            )
        return self._target(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if isinstance(attr, types.ModuleType) or (callable(attr) and not isinstance(attr, type)):
            return _HostOnly(attr, f"{self._path}.{name}")
        return attr


def _device_method(method):
    def call(self, *args, **kwargs):
        return on_device(method(self, *args, **kwargs))

    call.__name__ = getattr(method, "__name__", "method")
    return call


class DeviceOps(NumpyOps):
    """``NumpyOps`` whose arrays are :class:`DeviceArray` s; ``to_numpy`` is the transfer."""

    name = "device"
    xp = _OnDevice(numpy)

    def to_numpy(self, data, *, byte_order=None):
        host = numpy.asarray(data)  # a host view
        return host.astype(host.dtype.newbyteorder(byte_order)) if byte_order else host


for _name in dir(NumpyOps):
    _attr = getattr(NumpyOps, _name)
    if not _name.startswith("_") and _name not in ("to_numpy", "xp", "name") and callable(_attr) \
            and not isinstance(_attr, type):
        setattr(DeviceOps, _name, _device_method(_attr))


def _array_ops(array):
    """``get_array_ops`` of thinc/spaCy: the device ops for a device array."""
    return DeviceOps() if isinstance(array, DeviceArray) else NumpyOps()


def _device_torch2xp(tensor, *, ops=None):
    from thinc.util import torch2xp

    return on_device(torch2xp(tensor))


@contextlib.contextmanager
def device_ops() -> Iterator[DeviceOps]:
    """Make :class:`DeviceOps` the current ops and guard the package's numpy calls for
    the block."""
    for name in MODULES:
        importlib.import_module(name)
    previous = get_current_ops()
    with pytest.MonkeyPatch.context() as monkeypatch:
        _install(monkeypatch)
        set_current_ops(DeviceOps())
        try:
            yield get_current_ops()
        finally:
            set_current_ops(previous)


def _install(monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy.vectors
    import thinc.optimizers

    monkeypatch.setattr(spacy.vectors, "get_array_ops", _array_ops)
    monkeypatch.setattr(thinc.optimizers, "get_array_ops", _array_ops)
    for name, module in list(sys.modules.items()):
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            if getattr(module, "numpy", None) is numpy:
                monkeypatch.setattr(module, "numpy", _HostOnly(numpy))
            if hasattr(module, "torch2xp"):
                monkeypatch.setattr(module, "torch2xp", _device_torch2xp)
