"""benchmarks/gpu_check.sh runs end to end on the CPU (--gpu-id -1) on a tiny corpus,
with the shipped config and tiny stand-ins for its vectors and word lists (about 20 s)."""
import json
import subprocess
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from conftest import TRAIN_DATA, make_examples, make_shipped_resources

ROOT = Path(__file__).parent.parent


@pytest.mark.slow  # trainings and a benchmark in subprocesses (about 15-25 s)
def test_gpu_check_runs_on_cpu(tmp_path):
    nlp = spacy.blank("uk")
    for name in ("train", "dev", "test"):
        DocBin(docs=[eg.reference for eg in make_examples(nlp, TRAIN_DATA)]).to_disk(tmp_path / f"{name}.spacy")
    make_shipped_resources(tmp_path / "resources")  # resources/vectors and resources/lexicons
    output = tmp_path / "gpu_check.json"
    command = ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--gpu-id", "-1", "--steps", "3",
               "--corpus", str(tmp_path), "--resources", str(tmp_path / "resources"), "--output", str(output),
               "--skip-tests"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(output.read_text(encoding="utf8"))
    # the shipped model: floret vectors, word lists and a CRF
    assert report["model"] == {"vectors": [64, 12], "vectors_mode": "floret", "word_lists": 12, "output": "crf"}
    for name in ("fp32", "mixed_precision"):
        run = report["train"][name]
        assert run["updates"] == 3 and run["seconds_per_1000_updates"] > 0
        assert run["peak_gpu_mib"] is None and 0 <= run["dev_ents_f"] <= 1
    assert report["train"]["mixed_precision"]["mixed_precision"] is True
    inference = report["inference"]
    assert inference["texts"] == len(TRAIN_DATA)
    assert all(inference[f"words_per_s_batch_{b}"] > 0 for b in (64, 256, 1024))
    loaded = report["loaded_on_cpu"]
    assert loaded["torch_devices"] == ["cpu"] and loaded["docs"] == len(TRAIN_DATA)
    assert loaded["docs_with_same_entities"] == len(TRAIN_DATA)  # the same device: identical
