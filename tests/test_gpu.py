"""Training and prediction of the shipped configuration (``configs/rnn_ner.cfg``: floret
vectors, word lists, char CNN, CRF) on a CUDA GPU, its pipeline loaded on a CPU, and the
``mixed_precision`` setting.

The GPU tests are skipped without a CUDA device or without CuPy (which
``spacy.require_gpu()`` needs); their CPU counterparts always run, and
``test_device_clean.py`` checks the same paths on the CPU with arrays that refuse numpy
conversion as CuPy's do.
"""
import contextlib
import json
import os
import subprocess
import sys
from typing import Dict, List

import numpy
import pytest
import spacy
import torch
from spacy.language import Language
from thinc.api import NumpyOps, set_current_ops, use_ops
from thinc.shims import PyTorchShim

from conftest import SMALL_MODEL, TRAIN_DATA, ents_of, make_examples, seed_everything, shipped_nlp, train_shipped
from spacy_rnn_ner.architectures import build_char_cnn, build_rnn_tagger, build_token_features
from spacy_rnn_ner.layers.crf import CRFScores, marginals, masked_scores, nll, padding_of, viterbi

TEXTS = [text for text, _ in TRAIN_DATA]
GOLD = [[(text[s:e], label) for s, e, label in ents] for text, ents in TRAIN_DATA]

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)"
)


@contextlib.contextmanager
def on_device(device: str):
    """spaCy/thinc on ``device`` ("cpu" or "cuda") for the block; CPU ops afterwards."""
    if device == "cpu":
        yield
        return
    pytest.importorskip("cupy", reason="spacy.require_gpu() needs CuPy (e.g. pip install cupy-cuda12x)")
    try:
        spacy.require_gpu()
    except ValueError as err:  # e.g. CuPy installed but it sees no device
        pytest.skip(f"spacy.require_gpu() failed: {err}")
    try:
        yield
    finally:
        spacy.require_cpu()
        set_current_ops(NumpyOps())


@pytest.fixture
def on_gpu():
    with on_device("cuda"):
        yield


def device_array_type(device: str) -> type:
    if device == "cpu":
        return numpy.ndarray
    import cupy

    return cupy.ndarray


def torch_shims(nlp: Language) -> List[PyTorchShim]:
    model = nlp.get_pipe("rnn_ner").model
    return [shim for node in model.walk() for shim in node.shims if isinstance(shim, PyTorchShim)]


def build(rnn_type: str = "lstm", **model_settings) -> Language:
    seed_everything()
    nlp = spacy.blank("uk")
    nlp.add_pipe("rnn_ner", config={"model": dict(SMALL_MODEL, rnn_type=rnn_type, **model_settings)})
    return nlp


def train(nlp: Language, n_iter: int, learn_rate: float = 0.01) -> List[float]:
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = learn_rate
    losses = []
    for _ in range(n_iter):
        losses.append(nlp.update(examples, sgd=optimizer, drop=0.0)["rnn_ner"])
    return losses


def check_pipe_equals_single(nlp: Language) -> List[List]:
    single = [ents_of(nlp(text)) for text in TEXTS]
    for batch_size in (1, 2, 100):
        mixed = TEXTS + ["", "   "] + TEXTS[::-1]
        batched = [ents_of(doc) for doc in nlp.pipe(mixed, batch_size=batch_size)]
        assert batched == single + [[], []] + single[::-1], batch_size
    return single


CPU_LOAD_SCRIPT = """
import json, sys
import torch
assert not torch.cuda.is_available(), "CUDA_VISIBLE_DEVICES='' should hide the GPU"
import spacy
from thinc.api import get_current_ops
from thinc.shims import PyTorchShim
nlp = spacy.load(sys.argv[1])
ner = nlp.get_pipe("rnn_ner")
shims = [s for node in ner.model.walk() for s in node.shims if isinstance(s, PyTorchShim)]
print(json.dumps({
    "ops": get_current_ops().device_type,
    "devices": sorted({p.device.type for s in shims for p in s._model.parameters()}),
    "crf": ner.model.has_ref("crf"),
    "mixed_precision": ner.model.get_ref("rnn").shims[0]._mixed_precision,
    "vectors": list(nlp.vocab.vectors.shape),
    "ents": [[[e.text, e.label_] for e in nlp(t).ents] for t in json.loads(sys.argv[2])],
}))
"""


def load_on_cpu(path, tmp_path) -> Dict:
    """Load a saved pipeline in a process that cannot see the GPU; its predictions."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "-c", CPU_LOAD_SCRIPT, str(path), json.dumps(TEXTS)],
        cwd=str(tmp_path), env=env, check=False, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, requires_cuda])]
SHIPPED_DEVICES = [pytest.param("cpu", marks=pytest.mark.slow), pytest.param("cuda", marks=[pytest.mark.gpu, requires_cuda])]


@pytest.mark.parametrize("device", SHIPPED_DEVICES)
def test_shipped_config_trains_and_predicts_on_the_device_then_loads_on_cpu(device, tmp_path):
    """The shipped config (floret vectors, word lists, char CNN, CRF) trains and predicts
    on the device: the vectors table, thinc's params and the torch modules live there,
    the CRF's loss, Viterbi and marginals run there; the saved pipeline loads in a
    process without the GPU and finds the same entities."""
    with on_device(device):
        nlp = shipped_nlp(tmp_path / "resources")
        losses = train_shipped(nlp, n_iter=80)
        assert losses[-1] < 0.05 * losses[0], losses
        ner = nlp.get_pipe("rnn_ner")
        assert ner.model.ops.device_type == ("gpu" if device == "cuda" else "cpu")
        array_type = device_array_type(device)
        assert isinstance(nlp.vocab.vectors.data, array_type)
        assert isinstance(ner.model.get_ref("output_layer").get_param("W"), array_type)
        transitions = ner.model.get_ref("crf").get_param("transitions")
        assert isinstance(transitions, array_type) and ner.model.ops.to_numpy(transitions).any()
        shims = torch_shims(nlp)
        assert len(shims) == 2  # char CNN and RNN
        assert {p.device.type for shim in shims for p in shim._model.parameters()} == {device}
        assert ner.model.get_ref("rnn").shims[0]._mixed_precision is False
        assert isinstance(ner.model.predict([nlp.make_doc(TEXTS[0])]).scores, array_type)
        device_ents = check_pipe_equals_single(nlp)
        assert device_ents == GOLD
        probs = ner.predict([nlp(TEXTS[0])])[0].tag_probs
        assert ((probs > 0) & (probs <= 1)).all()
        nlp.to_disk(tmp_path / "model")
    info = load_on_cpu(tmp_path / "model", tmp_path)
    assert info["ops"] == "cpu" and info["crf"] and info["devices"] == ["cpu"]
    assert info["vectors"] == list(nlp.vocab.vectors.shape)
    assert info["ents"] == [[list(ent) for ent in ents] for ents in device_ents]


@pytest.mark.parametrize("device", DEVICES)
def test_crf_computations_run_on_the_tensors_device(device):
    """The CRF's torch code (the loss and its gradients) runs on any device and gives
    the CPU's results; Viterbi and the marginals (host, numpy) of the device's scores
    agree with the CPU's."""
    rng = numpy.random.default_rng(0)
    lengths = numpy.asarray([5, 1, 9, 3])
    n_tags = 9
    E = torch.tensor(rng.normal(size=(int(lengths.sum()), n_tags)), dtype=torch.float32)
    params = [torch.tensor(rng.normal(size=shape), dtype=torch.float32) for shape in ((n_tags, n_tags), (n_tags,), (n_tags,))]
    gold = torch.tensor(rng.integers(-1, 1, size=int(lengths.sum())))  # O or unknown: always valid

    def run(dev):
        E_d = E.to(dev).requires_grad_(True)
        p_d = [p.to(dev).requires_grad_(True) for p in params]
        loss = nll(E_d, lengths, gold.to(dev), *p_d)
        grads = torch.autograd.grad(loss, [E_d] + p_d)
        scores = masked_scores(n_tags, *[p.detach() for p in p_d], device=dev)
        host = padding_of(lengths, "cpu")
        tags = host.unpad(torch.from_numpy(viterbi(host.pad(E_d.detach().cpu()).numpy(), host.batch_sizes,
                                                   CRFScores(*(x.cpu() for x in scores)))))
        scores64 = masked_scores(n_tags, *[p.detach().cpu() for p in p_d], dtype=torch.float64)
        probs = host.unpad(torch.from_numpy(marginals(host.pad(E_d.detach().cpu()).numpy(),
                                                      host.batch_sizes, scores64)))
        assert grads[0].device.type == dev
        return [float(loss.detach())] + [t.cpu().numpy() for t in (tags, probs, *grads)]

    on_cpu, on_device = run("cpu"), run(device)
    assert on_device[0] == pytest.approx(on_cpu[0], rel=1e-5)
    assert on_device[1].tolist() == on_cpu[1].tolist()
    for got, want in zip(on_device[2:], on_cpu[2:]):
        numpy.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.gpu
@requires_cuda
def test_mixed_precision_on_gpu(on_gpu, tmp_path):
    """The shipped config with ``mixed_precision = true``: autocast on CUDA, finite
    float32 scores, the overfitted entities; ignored when loaded on the CPU."""
    nlp = shipped_nlp(tmp_path / "resources", {"components.rnn_ner.model.mixed_precision": True})
    ner = nlp.get_pipe("rnn_ner")
    shim = ner.model.get_ref("rnn").shims[0]
    assert shim._mixed_precision is True
    assert shim.device.type == "cuda"

    losses = train_shipped(nlp, n_iter=80)
    assert numpy.isfinite(losses).all(), losses
    # the gradient scaler may skip the first updates (fp16 overflow), not all of them
    assert losses[-1] < losses[0], losses
    scores = ner.model.ops.to_numpy(ner.model.predict([nlp(text) for text in TEXTS]).scores)
    assert scores.dtype == numpy.float32
    assert numpy.isfinite(scores).all()
    gpu_ents = check_pipe_equals_single(nlp)

    # the setting is kept in the config, and ignored when loaded on the CPU
    assert nlp.config["components"]["rnn_ner"]["model"]["mixed_precision"] is True
    nlp.to_disk(tmp_path / "model")
    info = load_on_cpu(tmp_path / "model", tmp_path)
    assert info["mixed_precision"] is False
    assert info["devices"] == ["cpu"]
    # fp16 activations may flip a borderline token; the overfitted entities must not change
    assert info["ents"] == [[list(ent) for ent in ents] for ents in gpu_ents]
    assert gpu_ents == GOLD


def test_mixed_precision_is_off_on_cpu():
    with use_ops("numpy"):
        # the architecture directly
        char_encoder = build_char_cnn(width=8, embed_width=8, n_rows=64)
        tok2vec = build_token_features(width=16, rows=[100, 50, 50, 20], char_encoder=char_encoder)
        model = build_rnn_tagger(tok2vec, rnn_type="gru", hidden_width=8, mixed_precision=True)
        shim = model.get_ref("rnn").shims[0]
        assert isinstance(shim, PyTorchShim)
        assert shim._mixed_precision is False
        assert shim._grad_scaler._enabled is False

        # and through the component's config, training still works on the CPU
        nlp = build("gru", mixed_precision=True)
        ner = nlp.get_pipe("rnn_ner")
        shim = ner.model.get_ref("rnn").shims[0]
        assert shim._mixed_precision is False
        assert nlp.config["components"]["rnn_ner"]["model"]["mixed_precision"] is True
        losses = train(nlp, n_iter=5)
        assert numpy.isfinite(losses).all(), losses
        assert {p.device.type for s in torch_shims(nlp) for p in s._model.parameters()} == {"cpu"}
        nlp(TEXTS[0])
