"""Training and prediction on a CUDA GPU (softmax and CRF outputs), and the
``mixed_precision`` setting.

The GPU tests are skipped without a CUDA device or without CuPy (which
``spacy.require_gpu()`` needs); their CPU counterparts always run.
"""
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
from thinc.api import NumpyOps, get_current_ops, set_current_ops, use_ops
from thinc.shims import PyTorchShim

from conftest import SMALL_MODEL, TRAIN_DATA, ents_of, make_examples, seed_everything, train_nlp
from spacy_rnn_ner.architectures import build_char_cnn, build_rnn_tagger, build_token_features
from spacy_rnn_ner.layers.crf import make_packing, marginals, masked_scores, nll, viterbi

TEXTS = [text for text, _ in TRAIN_DATA]
GOLD = [[(text[s:e], label) for s, e, label in ents] for text, ents in TRAIN_DATA]

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)"
)


@pytest.fixture
def on_gpu():
    """Run the test with spaCy/thinc on the GPU; back to CPU ops afterwards."""
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


@pytest.mark.gpu
@requires_cuda
def test_train_on_gpu_then_load_on_cpu(on_gpu, tmp_path):
    import cupy

    nlp = train_nlp("lstm", n_iter=80)
    ner = nlp.get_pipe("rnn_ner")
    assert get_current_ops().device_type == "gpu"
    assert ner.model.ops.device_type == "gpu"
    # the PyTorch modules (char CNN and RNN) live on the GPU
    shims = torch_shims(nlp)
    assert len(shims) == 2
    for shim in shims:
        assert {p.device.type for p in shim._model.parameters()} == {"cuda"}
        assert shim.device.type == "cuda"
    assert ner.model.get_ref("rnn").shims[0]._mixed_precision is False
    # and thinc's own parameters are CuPy arrays
    assert isinstance(ner.model.get_ref("output_layer").get_param("W"), cupy.ndarray)
    scores = ner.model.predict([nlp.make_doc(TEXTS[0])])
    assert isinstance(scores.scores, cupy.ndarray)

    gpu_ents = check_pipe_equals_single(nlp)
    assert gpu_ents == GOLD

    nlp.to_disk(tmp_path / "model")
    info = load_on_cpu(tmp_path / "model", tmp_path)
    assert info["ops"] == "cpu"
    assert info["devices"] == ["cpu"]
    assert info["ents"] == [[list(ent) for ent in ents] for ents in gpu_ents]


@pytest.mark.gpu
@requires_cuda
def test_crf_trains_and_predicts_on_gpu_then_loads_on_cpu(on_gpu, tmp_path):
    """The default output: the CRF's params are CuPy arrays, its loss, Viterbi and
    marginals run on the GPU; the pipeline loads on the CPU with the same entities."""
    import cupy

    nlp = build("lstm", output="crf")
    losses = train(nlp, n_iter=80)
    assert losses[-1] < 0.05 * losses[0], losses
    ner = nlp.get_pipe("rnn_ner")
    assert isinstance(ner.model.get_ref("crf").get_param("transitions"), cupy.ndarray)
    assert ner.model.get_ref("crf").get_param("transitions").get().any()  # learned
    gpu_ents = check_pipe_equals_single(nlp)
    assert gpu_ents == GOLD
    scores = nlp.get_pipe("rnn_ner").predict([nlp(TEXTS[0])])[0].tag_probs
    assert ((scores > 0) & (scores <= 1)).all()
    nlp.to_disk(tmp_path / "model")
    info = load_on_cpu(tmp_path / "model", tmp_path)
    assert info["crf"] and info["devices"] == ["cpu"]
    assert info["ents"] == [[list(ent) for ent in ents] for ents in gpu_ents]


DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, requires_cuda])]


@pytest.mark.parametrize("device", DEVICES)
def test_crf_computations_run_on_the_tensors_device(device):
    """The CRF's torch code (loss, Viterbi, marginals) runs on any device and gives the
    CPU's results: no step goes through numpy."""
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
        packing = make_packing(lengths, dev)
        tags = viterbi(E_d.detach(), packing, scores)
        probs = marginals(E_d.detach(), packing, scores)
        assert tags.device.type == probs.device.type == grads[0].device.type == dev
        return [float(loss)] + [t.cpu().numpy() for t in (tags, probs, *grads)]

    on_cpu, on_device = run("cpu"), run(device)
    assert on_device[0] == pytest.approx(on_cpu[0], rel=1e-5)
    assert on_device[1].tolist() == on_cpu[1].tolist()
    for got, want in zip(on_device[2:], on_cpu[2:]):
        numpy.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.gpu
@requires_cuda
def test_mixed_precision_on_gpu(on_gpu, tmp_path):
    nlp = build("lstm", mixed_precision=True)
    ner = nlp.get_pipe("rnn_ner")
    shim = ner.model.get_ref("rnn").shims[0]
    assert shim._mixed_precision is True
    assert shim.device.type == "cuda"

    losses = train(nlp, n_iter=80)
    assert numpy.isfinite(losses).all(), losses
    # the gradient scaler may skip the first updates (fp16 overflow), not all of them
    assert losses[-1] < losses[0], losses
    probs = ner.model.ops.to_numpy(ner.model.predict([nlp.make_doc(text) for text in TEXTS]).scores)
    assert probs.dtype == numpy.float32
    assert numpy.isfinite(probs).all()
    assert numpy.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
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
