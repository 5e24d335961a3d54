"""Same command, same inputs, same bytes: each step of ``spacy project run all`` (convert,
build-lexicons, pretrain-text, vectors, a short ``spacy train``, evaluate) run twice on
small data gives identical outputs (issue 20). The inputs are copied to a second
location for the second run, so an output that depends on where its input lies fails too.
"""
import os
import shutil
from pathlib import Path
from typing import Dict

import pytest
import srsly

from spacy_rnn_ner.__main__ import main
from test_cli import CONFIG, TINY_OVERRIDES, TRAIN_DATA, explain, spacy_cli, write_docbin
from test_converters import write_corpus
from test_lexicon_sources import ENTRIES, write_cfsa2
from test_pretraining_text import TEST_TEXT, make_ner_uk


def tree_bytes(path: Path) -> Dict[str, bytes]:
    """Every file under ``path`` (or the file itself) by its relative name."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def twice(tmp_path: Path, make_input, run) -> None:
    """Run ``run(input, output)`` on an input and on a copy of it elsewhere; the outputs
    must be byte-identical."""
    source = make_input(tmp_path / "a" / "in")
    copy = tmp_path / "b" / "in"
    copy.parent.mkdir(parents=True)
    (shutil.copytree if source.is_dir() else shutil.copy)(source, copy)
    outputs = [run(source, tmp_path / "a" / "out"), run(copy, tmp_path / "b" / "out")]
    first, second = (tree_bytes(out) for out in outputs)
    assert first, "nothing written"
    assert first.keys() == second.keys()
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"differ between two runs: {differ}"


def test_convert(tmp_path):
    def run(corpus, out):
        assert main(["convert", "ner-uk", str(corpus), str(out), "--seed", "0",
                     "--dev-fraction", "0.2"]) == 0
        return out
    twice(tmp_path, write_corpus, run)


def test_build_lexicons(tmp_path):
    def make(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_cfsa2(path, sorted(e.encode("utf8") for e in ENTRIES))
        return path

    def run(lt_dict, out):
        assert main(["build-lexicons", str(out), "--sources", "lingotweaker",
                     "--lt-dict", str(lt_dict)]) == 0
        return out
    twice(tmp_path, make, run)


def test_pretrain_text(tmp_path):
    def make(root):
        make_ner_uk(root / "ner-uk")
        for i in range(12):  # many files: their order must not depend on the file system
            folder = root / "raw" / ("good" if i % 2 else "so-so")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"f{i}.txt").write_text(f"Текст номер {i} про Львів .\n\nРядок {i} .\n",
                                              encoding="utf8")
        (root / "raw" / "good" / "copy.txt").write_text(TEST_TEXT, encoding="utf8")
        return root

    def run(root, out):
        out.mkdir(parents=True, exist_ok=True)
        assert main(["pretrain-text", str(root / "raw"), str(root / "ner-uk"),
                     str(out / "pretrain.txt"), "--lang", "uk", "--sources", "brown-uk"]) == 0
        return out / "pretrain.txt"
    twice(tmp_path, make, run)


def pretraining_text(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    words = sorted({w for text, _ in TRAIN_DATA for w in text.split()})
    lines = [" ".join(words[(i * 7 + j) % len(words)] for j in range(9)) for i in range(600)]
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


@pytest.mark.parametrize("seed", [[], ["--seed", "3"]])
def test_vectors_floret_and_init_vectors(tmp_path, seed):
    """Floret with one thread (the default) and ``spacy init vectors --mode floret``."""
    def run(text, out):
        assert main(["vectors-import", "local", str(out / "vectors"), "--text", str(text),
                     "--floret", str(out / "vectors.floret"), "--epoch", "2", *seed]) == 0
        return out
    twice(tmp_path, pretraining_text, run)


def test_vectors_seed_changes_the_vectors(tmp_path):
    text = pretraining_text(tmp_path / "text.txt")
    files = []
    for seed in ("1", "2"):
        files.append(tmp_path / f"{seed}.floret")
        assert main(["vectors", str(text), str(files[-1]), "--epoch", "2", "--bucket", "2000",
                     "--seed", seed]) == 0
    assert files[0].read_bytes() != files[1].read_bytes()


def train_and_evaluate(data: Path, out: Path, env: Dict[str, str]) -> Path:
    """A 20-step ``spacy train`` and ``spacy evaluate``; the model weights and the scores
    (without the speed, which is measured) under ``out/compare``."""
    proc = spacy_cli("train", CONFIG, "--output", out / "model", "--paths.train", data / "train.spacy",
                     "--paths.dev", data / "dev.spacy", "--paths.log", out / "log.jsonl",
                     *TINY_OVERRIDES, "--training.max_steps", "20", cwd=out.parent, env=env)
    assert proc.returncode == 0, explain(proc)
    proc = spacy_cli("evaluate", out / "model" / "model-best", data / "dev.spacy",
                     "--output", out / "scores.json", cwd=out.parent, env=env)
    assert proc.returncode == 0, explain(proc)
    compare = out / "compare"
    compare.mkdir()
    shutil.copy(out / "model" / "model-best" / "rnn_ner" / "model", compare / "rnn_ner_model")
    scores = srsly.read_json(out / "scores.json")
    scores.pop("speed")
    srsly.write_json(compare / "scores.json", scores)
    log = [{k: v for k, v in row.items() if "time" not in k and "wps" not in k and "speed" not in k}
           for row in srsly.read_jsonl(out / "log.jsonl")]
    srsly.write_jsonl(compare / "log.jsonl", log)
    return compare


def training_data(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_docbin(root / "train.spacy", TRAIN_DATA * 2)
    write_docbin(root / "dev.spacy", TRAIN_DATA)
    return root


@pytest.mark.parametrize("threads", ["1", pytest.param("2", marks=pytest.mark.slow)])
def test_train_and_evaluate(tmp_path, threads):
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    twice(tmp_path, training_data, lambda data, out: train_and_evaluate(data, out, env))
