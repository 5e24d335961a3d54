"""Integration tests through spaCy's command line, with the plugin found by its entry
points only (no ``--code``): discovery, ``spacy train``, ``evaluate``, ``package``,
``init labels``, ``init fill-config``/``debug data``, and multiprocess prediction of
a CLI-trained pipeline.

One tiny GRU pipeline is trained once per module (``cli_run``) and shared.
Every subprocess runs in a temporary directory, so nothing is imported from the
repository checkout by accident.
"""
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

import pytest
import spacy
from spacy.tokens import DocBin

from conftest import TRAIN_DATA, ents_of

REPO = Path(__file__).parent.parent
CONFIG = REPO / "configs" / "rnn_ner.cfg"
LABELS = ["LOC", "MISC", "ORG", "PERS"]
PACKAGE_NAME = "test_rnn_ner"
PACKAGE_VERSION = "0.0.1"
# training texts plus unseen ones
TEXTS = [text for text, _ in TRAIN_DATA] + [
    "Іван Франко жив у Львові .",
    "Верховна Рада України зібралася в Києві .",
    "",
]

LEXICON_DIR = Path(__file__).parent / "data" / "lexicon"

# overrides that make configs/rnn_ner.cfg tiny and fast: small layers, no static
# vectors, the tiny test gazetteers instead of VESUM
TINY_OVERRIDES = [
    "--system.seed", "0",
    "--paths.vectors", "null",
    "--paths.lexicon", str(LEXICON_DIR),
    "--components.rnn_ner.model.tok2vec.include_static_vectors", "false",
    "--components.rnn_ner.model.tok2vec.extra_features.gazetteers",
    '{"GEO":["geo.txt"],"NAME":["names.txt"],"ABBR":["abbr.txt"]}',
    "--training.max_steps", "30",
    "--training.eval_frequency", "10",
    "--training.dropout", "0.0",
    "--training.optimizer.learn_rate", "0.01",
    "--training.batcher.size.start", "50",
    "--training.batcher.size.stop", "50",
    "--components.rnn_ner.model.hidden_width", "16",
    "--components.rnn_ner.model.dropout", "0.0",
    "--components.rnn_ner.model.tok2vec.width", "16",
    "--components.rnn_ner.model.tok2vec.rows", "[500,200,200,50]",
    "--components.rnn_ner.model.tok2vec.char_encoder.width", "8",
    "--components.rnn_ner.model.tok2vec.char_encoder.embed_width", "8",
    "--components.rnn_ner.model.tok2vec.char_encoder.n_rows", "512",
    "--components.rnn_ner.model.tok2vec.char_encoder.dropout", "0.0",
]


def run(args: List[str], cwd: Path, env: Optional[Dict[str, str]] = None, timeout: int = 300):
    return subprocess.run(
        args, cwd=str(cwd), env=env, check=False, capture_output=True, text=True, timeout=timeout
    )


def spacy_cli(*args: str, cwd: Path, env: Optional[Dict[str, str]] = None):
    return run([sys.executable, "-m", "spacy", *map(str, args)], cwd=cwd, env=env)


def explain(proc: subprocess.CompletedProcess) -> str:
    return (
        f"command {proc.args} exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )


def write_docbin(path: Path, data) -> None:
    nlp = spacy.blank("uk")
    db = DocBin()
    for text, ents in data:
        doc = nlp.make_doc(text)
        spans = [doc.char_span(start, end, label=label) for start, end, label in ents]
        assert all(span is not None for span in spans), text
        doc.ents = spans
        db.add(doc)
    db.to_disk(path)


class Corpus(NamedTuple):
    dir: Path
    train: Path
    dev: Path


class TrainRun(NamedTuple):
    dir: Path
    proc: subprocess.CompletedProcess
    model_best: Path
    model_last: Path
    log: Path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    root = tmp_path_factory.mktemp("cli_corpus")
    train, dev = root / "train.spacy", root / "dev.spacy"
    write_docbin(train, TRAIN_DATA * 4)
    write_docbin(dev, TRAIN_DATA)
    return Corpus(root, train, dev)


def train_cli(corpus: Corpus, workdir: Path, rnn_type: str) -> TrainRun:
    workdir.mkdir(parents=True, exist_ok=True)
    proc = spacy_cli(
        "train", CONFIG,
        "--output", workdir / "output",
        "--paths.train", corpus.train,
        "--paths.dev", corpus.dev,
        "--paths.log", "tmp/log.jsonl",  # relative to the working directory
        "--components.rnn_ner.model.rnn_type", rnn_type,
        *TINY_OVERRIDES,
        cwd=workdir,
    )
    out = workdir / "output"
    return TrainRun(workdir, proc, out / "model-best", out / "model-last", workdir / "tmp" / "log.jsonl")


@pytest.fixture(scope="module")
def cli_run(corpus, tmp_path_factory) -> TrainRun:
    """The GRU pipeline trained once by ``spacy train`` and shared by this module."""
    result = train_cli(corpus, tmp_path_factory.mktemp("cli_gru"), "gru")
    assert result.proc.returncode == 0, explain(result.proc)
    return result


@pytest.fixture(scope="module")
def cli_nlp(cli_run):
    return spacy.load(cli_run.model_best)


# Entry points ------------------------------------------------------------------


def test_entry_points_are_installed():
    def names(group: str) -> Dict[str, str]:
        return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=group)}

    factories = names("spacy_factories")
    assert factories.get("rnn_ner") == "spacy_rnn_ner.pipeline_component:make_rnn_ner"
    architectures = names("spacy_architectures")
    for arch in ("RNNTagger", "TokenFeatures", "CharCNN", "LexiconFeatures", "Tok2VecListener"):
        assert f"spacy_rnn_ner.{arch}.v1" in architectures, sorted(architectures)
    assert architectures["spacy_rnn_ner.RNNTagger.v2"] == "spacy_rnn_ner.architectures:build_rnn_tagger"
    assert architectures["spacy_rnn_ner.RNNTagger.v1"] == "spacy_rnn_ner.architectures:build_rnn_tagger_v1"
    scorers = names("spacy_scorers")
    assert scorers.get("spacy_rnn_ner.ner_scorer.v1") == "spacy_rnn_ner.scorer:make_ner_scorer"
    # every entry point resolves to the registered object
    for group in ("spacy_factories", "spacy_architectures", "spacy_scorers", "spacy_readers", "spacy_loggers", "spacy_cli"):
        for ep in importlib.metadata.entry_points(group=group):
            if ep.value.startswith("spacy_rnn_ner."):
                assert callable(ep.load()), ep


DISCOVERY_SCRIPT = """
import json, sys
import spacy
assert "spacy_rnn_ner" not in sys.modules, "imported before spaCy asked for it"
nlp = spacy.blank("uk")
ner = nlp.add_pipe("rnn_ner")
arch = spacy.util.registry.architectures.get("spacy_rnn_ner.RNNTagger.v2")
scorer = spacy.util.registry.scorers.get("spacy_rnn_ner.ner_scorer.v1")
print(json.dumps({
    "class": type(ner).__module__ + "." + type(ner).__name__,
    "arch": arch.__module__ + "." + arch.__name__,
    "scorer": scorer.__module__ + "." + scorer.__name__,
    "pipe_names": nlp.pipe_names,
}))
"""


def test_entry_point_discovery_in_fresh_process(tmp_path):
    proc = run([sys.executable, "-c", DISCOVERY_SCRIPT], cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info == {
        "class": "spacy_rnn_ner.pipeline_component.RNNEntityRecognizer",
        "arch": "spacy_rnn_ner.architectures.build_rnn_tagger",
        "scorer": "spacy_rnn_ner.scorer.make_ner_scorer",
        "pipe_names": ["rnn_ner"],
    }


# spacy train -------------------------------------------------------------------


def check_train_run(result: TrainRun, rnn_type: str) -> None:
    assert result.proc.returncode == 0, explain(result.proc)
    for model_dir in (result.model_best, result.model_last):
        for name in ("config.cfg", "meta.json", "rnn_ner/model", "rnn_ner/cfg"):
            assert (model_dir / name).exists(), f"{model_dir / name} missing"
    assert result.log.exists(), explain(result.proc)
    lines = [json.loads(line) for line in result.log.read_text(encoding="utf8").splitlines() if line.strip()]
    assert [line["step"] for line in lines] == [0, 10, 20, 30]
    for line in lines:
        assert "ents_f" in line["scores"], line
        assert "ents_macro_f" in line["scores"], line
        assert "rnn_ner" in line["losses"], line
    # the overrides reached the saved pipeline
    config = spacy.util.load_config(result.model_last / "config.cfg")
    model_cfg = config["components"]["rnn_ner"]["model"]
    assert model_cfg["rnn_type"] == rnn_type
    assert model_cfg["hidden_width"] == 16
    assert model_cfg["tok2vec"]["width"] == 16
    assert model_cfg["tok2vec"]["char_encoder"]["width"] == 8
    meta = json.loads((result.model_best / "meta.json").read_text(encoding="utf8"))
    assert meta["lang"] == "uk" and meta["pipeline"] == ["abbrev_sentencizer", "rnn_ner"]
    assert sorted(meta["labels"]["rnn_ner"]) == LABELS
    # the tiny run learns something from its (tiny) data; "score" is the weighted
    # sum of the score_weights, in [0, 1]
    assert max(line["score"] for line in lines) > 0.5, lines


@pytest.mark.slow
@pytest.mark.parametrize("rnn_type", ["gru", "rnn"])
def test_spacy_train(rnn_type, request, corpus, tmp_path):
    if rnn_type == "gru":
        result = request.getfixturevalue("cli_run")  # the shared run
    else:
        result = train_cli(corpus, tmp_path, rnn_type)
    check_train_run(result, rnn_type)
    nlp = spacy.load(result.model_best)


# spacy evaluate ----------------------------------------------------------------


@pytest.mark.slow
def test_spacy_evaluate(cli_run, corpus, tmp_path):
    metrics_path = tmp_path / "metrics.json"
    proc = spacy_cli("evaluate", cli_run.model_best, corpus.dev, "--output", metrics_path, cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    assert "NER P" in proc.stdout
    metrics = json.loads(metrics_path.read_text(encoding="utf8"))
    keys = ("ents_p", "ents_r", "ents_f", "ents_per_type", "ents_macro_p", "ents_macro_r", "ents_macro_f")
    for key in keys:
        assert key in metrics, sorted(metrics)
    per_type = metrics["ents_per_type"]
    assert set(per_type) <= set(LABELS) and per_type, per_type
    for scores in per_type.values():
        assert set(scores) == {"p", "r", "f"}
    # the scorer's macro average is the unweighted mean over the types
    mean_f = sum(s["f"] for s in per_type.values()) / len(per_type)
    assert metrics["ents_macro_f"] == pytest.approx(mean_f)
    for key in ("ents_p", "ents_r", "ents_f", "ents_macro_f"):
        assert 0.0 <= metrics[key] <= 1.0


# spacy package -----------------------------------------------------------------


def can_build_wheel() -> bool:
    """What ``spacy package --build wheel`` needs: the ``build`` package or ``wheel``."""
    try:
        importlib.metadata.version("build")
        return True
    except importlib.metadata.PackageNotFoundError:
        return importlib.util.find_spec("wheel") is not None


PREDICT_SCRIPT = """
import json, sys
import spacy
texts = json.loads(sys.argv[2])
nlp = spacy.load(sys.argv[1])
module = sys.modules.get(sys.argv[1])
print(json.dumps({
    "file": getattr(module, "__file__", None),
    "name": nlp.meta["name"],
    "version": nlp.meta["version"],
    "ents": [[[e.text, e.label_] for e in nlp(t).ents] for t in texts],
}))
"""


@pytest.mark.slow
def test_spacy_package_install_and_load(cli_run, cli_nlp, tmp_path):
    packages = tmp_path / "packages"
    packages.mkdir()
    # without `build`/`wheel` spaCy refuses to build a wheel; an sdist then goes
    # through setuptools, and pip builds it below with the installed setuptools
    build_format = "wheel" if can_build_wheel() else "sdist"
    proc = spacy_cli(
        "package", cli_run.model_best, packages,
        "--name", PACKAGE_NAME, "--version", PACKAGE_VERSION, "--build", build_format,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, explain(proc)
    package_name = f"uk_{PACKAGE_NAME}"
    main_dir = packages / f"{package_name}-{PACKAGE_VERSION}"
    meta = json.loads((main_dir / "meta.json").read_text(encoding="utf8"))
    # the plugin is detected as a requirement of the packaged pipeline
    assert any(req.startswith("spacy-rnn-ner") for req in meta["requirements"]), meta["requirements"]
    pattern = "*.whl" if build_format == "wheel" else "*.tar.gz"
    artifacts = sorted((main_dir / "dist").glob(pattern))
    assert len(artifacts) == 1, (list((main_dir / "dist").iterdir()), explain(proc))

    target = tmp_path / "site"
    proc = run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation",
         "--disable-pip-version-check", "--quiet", "--target", str(target), str(artifacts[0])],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, explain(proc)
    assert (target / package_name / "__init__.py").exists()

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(target), env.get("PYTHONPATH")) if p)
    proc = run([sys.executable, "-c", PREDICT_SCRIPT, package_name, json.dumps(TEXTS)], cwd=tmp_path, env=env)
    assert proc.returncode == 0, explain(proc)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(info["file"]).resolve().is_relative_to(target.resolve()), info["file"]
    assert (info["name"], info["version"]) == (PACKAGE_NAME, PACKAGE_VERSION)
    expected = [[list(ent) for ent in ents_of(cli_nlp(text))] for text in TEXTS]
    assert info["ents"] == expected
    assert any(expected), "the trained pipeline predicts no entities at all"


# spacy init labels / fill-config / debug data ----------------------------------


@pytest.mark.slow
def test_spacy_init_labels(corpus, cli_nlp, tmp_path):
    out = tmp_path / "labels"
    proc = spacy_cli(
        "init", "labels", CONFIG, out,
        "--paths.train", corpus.train, "--paths.dev", corpus.dev, *TINY_OVERRIDES,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, explain(proc)
    labels = json.loads((out / "rnn_ner.json").read_text(encoding="utf8"))
    assert labels == LABELS
    assert list(cli_nlp.get_pipe("rnn_ner").labels) == labels


def debug_data(config: Path, corpus: Corpus, cwd: Path) -> subprocess.CompletedProcess:
    return spacy_cli(
        "debug", "data", config,
        "--paths.train", corpus.train, "--paths.dev", corpus.dev, *TINY_OVERRIDES,
        cwd=cwd,
    )


def check_debug_data(proc: subprocess.CompletedProcess) -> None:
    # debug data exits with 1 when it reports errors about the data (here: "Low
    # number of examples to train a new pipeline"); it must not crash
    assert proc.returncode in (0, 1), explain(proc)
    assert "Traceback" not in proc.stderr, explain(proc)
    assert "Pipeline can be initialized with data" in proc.stdout, explain(proc)
    assert "Corpus is loadable" in proc.stdout, explain(proc)
    assert "Summary" in proc.stdout, explain(proc)


@pytest.mark.slow
def test_spacy_fill_config_and_debug_data(corpus, tmp_path):
    filled = tmp_path / "filled.cfg"
    proc = spacy_cli("init", "fill-config", CONFIG, filled, cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    config = spacy.util.load_config(filled)
    assert config["components"]["rnn_ner"]["factory"] == "rnn_ner"
    check_debug_data(debug_data(filled, corpus, tmp_path))


@pytest.mark.slow
def test_spacy_debug_data_on_shipped_config(corpus, tmp_path):
    check_debug_data(debug_data(CONFIG, corpus, tmp_path))


# multiprocess prediction -------------------------------------------------------


@pytest.mark.slow
def test_cli_model_multiprocess_pipe_equals_single(cli_nlp):
    texts = TEXTS * 3
    single = [ents_of(cli_nlp(text)) for text in texts]
    multi = [ents_of(doc) for doc in cli_nlp.pipe(texts, batch_size=2, n_process=2)]
    assert multi == single
    assert any(single)
