"""The shipped configuration's predict and update paths are device-clean: run under
:class:`device_ops.DeviceOps` (arrays that behave as CuPy arrays, see ``device_ops.py``),
a numpy conversion of a device array anywhere in the package fails, as on a GPU."""
import numpy
import pytest
import spacy

from conftest import TRAIN_DATA, shipped_nlp, train_shipped
from device_ops import DeviceArray, DeviceOps, device_ops

TEXTS = [text for text, _ in TRAIN_DATA]


def test_the_guard_refuses_numpy_on_device_arrays():
    """The check can fail: numpy on a device array inside the package raises, so does
    arithmetic mixing host and device arrays; the explicit transfer does not."""
    from spacy_rnn_ner.layers import unique_words

    with device_ops() as ops:
        device = ops.alloc2f(2, 3)
        assert isinstance(device, DeviceArray) and isinstance(ops.xp.hstack([device, device]), DeviceArray)
        with pytest.raises(TypeError, match="device array"):
            unique_words.numpy.asarray(device)
        with pytest.raises(TypeError, match="device array"):
            unique_words.numpy.concatenate([device, device])
        with pytest.raises(TypeError, match="mixed with a host"):
            device + numpy.ones((2, 3), "f")
        assert type(ops.to_numpy(device)) is numpy.ndarray
        assert unique_words.numpy.asarray([1, 2]).tolist() == [1, 2]  # host data is fine
    assert unique_words.numpy is numpy  # undone


def test_shipped_config_trains_predicts_and_loads_on_device_ops(tmp_path):
    with device_ops():
        nlp = shipped_nlp(tmp_path)
        losses = train_shipped(nlp, n_iter=3, drop=0.1)
        assert numpy.isfinite(losses).all()
        ner = nlp.get_pipe("rnn_ner")
        assert isinstance(ner.model.ops, DeviceOps)
        # the check runs on the paths a GPU takes: vectors table and params on the device
        assert isinstance(nlp.vocab.vectors.data, DeviceArray)
        assert isinstance(ner.model.get_ref("crf").get_param("transitions"), DeviceArray)
        docs = list(nlp.pipe(TEXTS + ["", "  "], batch_size=3))
        scores = [doc.spans["rnn_ner"].attrs["scores"] for doc in docs]
        assert all(((s > 0) & (s <= 1)).all() for s in scores)
        ner.spans_key = None  # Viterbi alone
        plain = [[(e.start, e.end, e.label_) for e in doc.ents] for doc in nlp.pipe(TEXTS)]
        assert plain == [[(e.start, e.end, e.label_) for e in doc.ents] for doc in docs[: len(TEXTS)]]
        nlp.to_disk(tmp_path / "model")
        loaded = spacy.load(tmp_path / "model")
        assert isinstance(loaded.vocab.vectors.data, DeviceArray)
        again = [[(e.start, e.end, e.label_) for e in doc.ents] for doc in loaded.pipe(TEXTS)]
    assert again == plain
