"""benchmarks/speed.py runs end to end on a tiny stream with the shipped config (about
40 s: nine fresh processes)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.tokens import DocBin

from conftest import TRAIN_DATA, make_examples, shipped_nlp, train_shipped

ROOT = Path(__file__).parent.parent


def trained_model_and_text(tmp_path, n_files):
    """The shipped config trained a little (saved in tmp_path/model) and a folder of
    ``n_files`` text files of the training texts; the pipeline."""
    nlp = shipped_nlp(tmp_path / "resources")
    train_shipped(nlp, n_iter=2)
    nlp.to_disk(tmp_path / "model")
    text = tmp_path / "text"
    text.mkdir()
    for i in range(n_files):
        (text / f"{i}.txt").write_text("\n".join(t for t, _ in TRAIN_DATA) + "\n", encoding="utf8")
    return nlp, text


@pytest.mark.slow
def test_speed_benchmark_reports_both_pipelines_components_and_the_long_doc(tmp_path):
    nlp, text = trained_model_and_text(tmp_path, 3)
    DocBin(docs=[eg.reference for eg in make_examples(nlp)]).to_disk(tmp_path / "warmup.spacy")
    output = tmp_path / "speed.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "speed.py"), str(tmp_path / "model"), "--text", str(text),
               "--warmup", str(tmp_path / "warmup.spacy"), "--spacy-config", str(ROOT / "configs" / "spacy_ner.cfg"),
               "--tokens", "100", "--rounds", "1", "--long-doc", "300", "--output", str(output)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(output.read_text(encoding="utf8"))
    assert set(report["words_per_s"]) == {"rnn_ner", "rnn_ner_no_spans", "spacy_ner"}
    assert all(value > 0 for value in report["words_per_s"].values())
    assert report["ratio"] > 0 and report["ratio_no_spans"] > 0
    # the shipped pipeline's sentence setter runs first in both pipelines
    assert set(report["ms_per_1000_words"]["rnn_ner"]) == {"tokenizer", "abbrev_sentencizer", "rnn_ner"}
    assert set(report["ms_per_1000_words"]["spacy_ner"]) == {"tokenizer", "abbrev_sentencizer", "tok2vec", "ner"}
    assert set(report["long_doc"]) == {"rnn_ner", "rnn_ner_no_spans", "rnn_ner_without_sentencizer",
                                       "rnn_ner_no_spans_without_sentencizer"}
    assert 0 < report["long_doc_tokens"] <= min(300, report["words"])


@pytest.mark.slow
def test_decode_windows_benchmark_compares_both_ways(tmp_path):
    """benchmarks/decode_windows.py decodes a 2,500-token segment in windows and whole."""
    _, text = trained_model_and_text(tmp_path, 80)
    command = [sys.executable, str(ROOT / "benchmarks" / "decode_windows.py"), str(tmp_path / "model"),
               "--text", str(text), "--tokens", "2500"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["tokens"] == 2500
    assert len(report["seconds"]["windows"]) == 2 and len(report["seconds"]["whole"]) == 2
    assert report["entities"]["shared"] <= min(report["entities"]["windows"], report["entities"]["whole"])
    assert 0.0 <= report["max_confidence_difference"] <= 1.0


def test_lstm_variants_benchmark_times_each_way():
    command = [sys.executable, str(ROOT / "benchmarks" / "lstm_variants.py"), "--hidden", "8", "--input", "6",
               "--repeats", "1"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.endswith("us/token")]
    assert [line.split(":")[0] for line in lines] == [
        "packed (the model)", "padded, equal lengths, oneDNN", "padded, equal lengths, no oneDNN",
        "packed, int8 dynamic quantization"]
    assert all(float(line.split(":")[1].split()[0]) > 0 for line in lines)
