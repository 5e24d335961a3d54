"""``vectors-import``: pretrained vectors (``.vec``, ``.vec.gz``, ``.bin``) made in the
test become a spaCy vectors table that ``spacy train`` uses and ``spacy.load`` reads; a
missing or malformed file is a one-line error naming it."""
import gzip
import random
from pathlib import Path

import numpy
import pytest
import spacy

from spacy_rnn_ner.__main__ import main
from test_cli import CONFIG, TINY_OVERRIDES, TRAIN_DATA, explain, spacy_cli, write_docbin

N_WORDS, WIDTH = 300, 12


def corpus_words():
    words = sorted({word for text, _ in TRAIN_DATA for word in text.split()})
    return words + [f"слово{i}" for i in range(N_WORDS - len(words))]


def write_vec(path: Path, header: bool = True) -> Path:
    rng = numpy.random.default_rng(0)
    words = corpus_words()
    lines = [f"{len(words)} {WIDTH}"] if header else []
    lines += [word + " " + " ".join(f"{x:.4f}" for x in rng.normal(size=WIDTH)) for word in words]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def write_bin(path: Path) -> Path:
    floret = pytest.importorskip("floret")
    rng = random.Random(0)
    words = corpus_words()
    text = path.with_suffix(".txt")
    text.write_text("\n".join(" ".join(rng.choices(words, k=10)) for _ in range(2000)) + "\n",
                    encoding="utf-8")
    model = floret.train_unsupervised(str(text), model="cbow", mode="fasttext", dim=WIDTH,
                                      epoch=1, minCount=1, bucket=1000, thread=1, verbose=0)
    model.save_model(str(path))
    return path


@pytest.mark.parametrize("name", ["v.vec", "v.vec.gz", "v_nohead.vec", "v.bin"])
def test_converts_each_format(tmp_path, name):
    source = write_bin(tmp_path / name) if name.endswith(".bin") else \
        write_vec(tmp_path / name, header="nohead" not in name)
    out = tmp_path / "vectors"
    record = tmp_path / "metrics" / "vectors.json"
    assert main(["vectors-import", str(source), str(out), "--prune", "100",
                 "--record", str(record)]) == 0
    vectors = spacy.load(out).vocab.vectors
    assert vectors.shape == (100, WIDTH)
    assert vectors.n_keys >= 100  # pruned words map to their nearest kept row
    info = spacy.util.srsly.read_json(record)
    assert info["outside_resource"] is True and info["file"] == str(source)


def test_truncate_reads_only_the_first_rows(tmp_path):
    out = tmp_path / "vectors"
    assert main(["vectors-import", str(write_vec(tmp_path / "v.vec")), str(out),
                 "--truncate", "50", "--prune", "-1"]) == 0
    assert spacy.load(out).vocab.vectors.shape == (50, WIDTH)


@pytest.mark.parametrize("content, where", [
    ("3 4\nслово 0.1 0.2\n", ":2:"),           # too few numbers
    ("слово 0.1 x 0.3\n", ":1:"),               # not a number
    (b"\x80\x81 binary\n", ""),                  # not UTF-8
])
def test_malformed_file_is_a_one_line_error(tmp_path, capsys, content, where):
    path = tmp_path / "bad.vec"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    assert main(["vectors-import", str(path), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}{where}"), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("source", ["missing.vec.gz", "cc.uk.300", "bad.bin", "v.npy"])
def test_missing_or_unknown_file_is_a_one_line_error(tmp_path, capsys, monkeypatch, source):
    monkeypatch.chdir(tmp_path)  # cc.uk.300 is looked up under ./assets
    if source in ("bad.bin", "v.npy"):
        (tmp_path / source).write_bytes(b"not vectors")
    assert main(["vectors-import", source, "out"]) == 1
    err = capsys.readouterr().err.strip()
    expected = "assets/cc.uk.300.vec.gz" if source == "cc.uk.300" else source
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {expected}: "), err


def test_short_training_uses_the_imported_vectors(tmp_path):
    out = tmp_path / "vectors"
    assert main(["vectors-import", str(write_vec(tmp_path / "v.vec.gz")), str(out),
                 "--prune", "200"]) == 0
    write_docbin(tmp_path / "train.spacy", TRAIN_DATA * 2)
    write_docbin(tmp_path / "dev.spacy", TRAIN_DATA)
    overrides = dict(zip(TINY_OVERRIDES[::2], TINY_OVERRIDES[1::2]))
    overrides.update({"--paths.vectors": str(out), "--training.max_steps": "6",
                      "--training.eval_frequency": "3",
                      "--components.rnn_ner.model.tok2vec.include_static_vectors": "true"})
    proc = spacy_cli("train", CONFIG, "--output", tmp_path / "model",
                     "--paths.train", tmp_path / "train.spacy", "--paths.dev", tmp_path / "dev.spacy",
                     "--paths.log", tmp_path / "log.jsonl",
                     *[x for pair in overrides.items() for x in pair], cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    nlp = spacy.load(tmp_path / "model" / "model-best")
    assert nlp.vocab.vectors.shape == (200, WIDTH)
    assert numpy.array_equal(nlp.vocab.vectors.data, spacy.load(out).vocab.vectors.data)
    nlp("Тарас Шевченко народився в Моринцях .")
