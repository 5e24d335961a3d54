"""The segment data flow: same predictions as before the rework, v1 == v2, and no
dependence on state shared between threads or processes."""
import json
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import numpy
import pytest
import spacy

from conftest import TRAIN_DATA, ents_of, make_examples, seed_everything

LEGACY = Path(__file__).parent / "data" / "legacy_v1"
LEGACY_V2 = Path(__file__).parent / "data" / "legacy_v2"


@pytest.fixture(scope="module")
def legacy_nlp():
    return spacy.load(LEGACY / "model")


@pytest.fixture(scope="module")
def expected():
    return json.loads((LEGACY / "expected.json").read_text(encoding="utf8"))


def test_v1_pipeline_trained_before_the_rework_predicts_the_same(legacy_nlp, expected):
    """A pipeline saved by the code before the segment flow (commit 51aa19d) loads and
    gives the same entities and the same tag probabilities."""
    docs = list(legacy_nlp.pipe(expected["texts"]))
    got = [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in docs]
    assert got == expected["ents"]
    assert sum(len(ents) for ents in got) >= 10  # the fixture is not a trivial model
    model = legacy_nlp.get_pipe("rnn_ner").model
    for doc, probs in zip(legacy_nlp.pipe(expected["texts"], disable=["rnn_ner"]), expected["probs"]):
        numpy.testing.assert_allclose(model.predict([doc]).scores, numpy.asarray(probs, "f").reshape(-1, 9), atol=2e-5)


def test_v2_crf_pipeline_saved_before_the_torch_crf_predicts_the_same():
    """A CRF pipeline saved by the code before the torch CRF (commit 9c1ea55, hand-written
    forward-backward) loads and gives the same entities, emission scores and tag
    probabilities (the CRF's marginals of the decoded tags)."""
    nlp = spacy.load(LEGACY_V2 / "model")
    expected = json.loads((LEGACY_V2 / "expected.json").read_text(encoding="utf8"))
    got = [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in nlp.pipe(expected["texts"])]
    assert got == expected["ents"]
    assert sum(len(ents) for ents in got) >= 10
    ner = nlp.get_pipe("rnn_ner")
    assert not numpy.allclose(ner.model.get_ref("crf").get_param("transitions"), 0)
    for doc, scores, probs in zip(
        nlp.pipe(expected["texts"], disable=["rnn_ner"]), expected["scores"], expected["probs"]
    ):
        numpy.testing.assert_allclose(ner.model.predict([doc]).scores, numpy.asarray(scores, "f").reshape(-1, 9), atol=2e-5)
        numpy.testing.assert_allclose(ner.predict([doc])[0].tag_probs, numpy.asarray(probs, "f"), atol=2e-5)


def test_v2_layout_with_v1_weights_predicts_the_same(legacy_nlp, expected):
    """RNNTagger.v2 is v1's computation: copy every parameter and compare."""
    config = legacy_nlp.config.copy()
    config["components"]["rnn_ner"]["model"]["@architectures"] = "spacy_rnn_ner.RNNTagger.v2"
    nlp2 = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp2.get_pipe("rnn_ner").cfg = dict(legacy_nlp.get_pipe("rnn_ner").cfg)
    old, new = legacy_nlp.get_pipe("rnn_ner").model, nlp2.get_pipe("rnn_ner").model
    assert [n.name for n in old.walk()][:3] != [n.name for n in new.walk()][:3]
    for ref in ("tok2vec", "rnn", "output_layer"):
        new.get_ref(ref).from_bytes(old.get_ref(ref).to_bytes())
    new.set_dim("nO", 9, force=True)
    nlp2.tokenizer.from_bytes(legacy_nlp.tokenizer.to_bytes())
    got = [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in nlp2.pipe(expected["texts"])]
    assert got == expected["ents"]


def test_threads_share_one_pipeline(legacy_nlp):
    """Threads predicting with one pipeline while another trains a copy get the
    sequential results: dropout never leaks into a prediction through the torch
    module's train()/eval() state."""
    texts = [text for text, _ in TRAIN_DATA] * 30
    ner = legacy_nlp.get_pipe("rnn_ner")
    docs = list(legacy_nlp.pipe(texts, disable=["rnn_ner"]))
    sequential = [ner.model.predict([doc]).scores.copy() for doc in docs]
    results = [None] * len(docs)
    stop = threading.Event()

    def predict(indices):
        for i in indices:
            results[i] = ner.model.predict([docs[i]]).scores.copy()

    def train_mode_toggler():
        # what a concurrent update does to the shared modules: begin_update calls train()
        while not stop.is_set():
            ner.model.begin_update(docs[:2])

    toggler = threading.Thread(target=train_mode_toggler)
    toggler.start()
    workers = [threading.Thread(target=predict, args=(range(k, len(docs), 8),)) for k in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    toggler.join()
    for got, want in zip(results, sequential):
        numpy.testing.assert_allclose(got, want, atol=1e-5)  # dropout would differ by far more


def test_pipeline_pickles(legacy_nlp, expected):
    nlp2 = pickle.loads(pickle.dumps(legacy_nlp))
    assert [ents_of(d) for d in nlp2.pipe(expected["texts"])] == [
        ents_of(d) for d in legacy_nlp.pipe(expected["texts"])
    ]


SPAWN_SCRIPT = """
import multiprocessing, sys, spacy
if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    nlp = spacy.load(sys.argv[1])
    texts = ["Тарас Шевченко народився в Моринцях .", "Київ є столицею України ."] * 4
    single = [[(e.text, e.label_) for e in nlp(t).ents] for t in texts]
    multi = [[(e.text, e.label_) for e in d.ents] for d in nlp.pipe(texts, n_process=2, batch_size=2)]
    assert multi == single, (multi, single)
    print("OK")
"""


@pytest.mark.slow
def test_n_process_under_spawn(tmp_path):
    script = tmp_path / "spawn.py"
    script.write_text(SPAWN_SCRIPT, encoding="utf8")
    result = subprocess.run(
        [sys.executable, str(script), str(LEGACY / "model")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK" in result.stdout


FORK_SCRIPT = """
import os, torch
torch.set_num_threads(2)
import spacy_rnn_ner  # noqa: F401
pid = os.fork()
if pid == 0:
    print("child", torch.get_num_threads(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_import_leaves_forked_children_threads_alone():
    result = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=120)
    assert "child 2" in result.stdout, result.stdout + result.stderr


def test_lexicon_cache_follows_loaded_word_lists(legacy_nlp):
    """After A.from_bytes(B.to_bytes()) A answers from B's word lists, not A's cache."""
    from spacy_rnn_ner.layers.lexicon_features import lexicon_features_layer

    directory = LEGACY.parent / "lexicon"
    a = lexicon_features_layer({"GEO": ["geo.txt"]}, str(directory), [], "none", "uk")
    b = lexicon_features_layer({"GEO": ["names.txt"]}, str(directory), [], "none", "uk")
    a.initialize()
    b.initialize()
    doc = legacy_nlp.make_doc("Київ Тарас")
    assert a.predict([doc])[0][:, 0].tolist() == [1.0, 0.0]  # fills A's cache
    a.from_bytes(b.to_bytes())
    assert a.predict([doc])[0][:, 0].tolist() == [0.0, 1.0]


def test_fine_tune_with_a_new_label_keeps_the_old_ones(tmp_path):
    """A trained component sourced into a new pipeline learns a label it has not seen;
    its output grows and the old labels are still predicted."""
    from conftest import train_nlp

    trained = train_nlp("lstm", n_iter=80)
    trained.to_disk(tmp_path / "base")
    seed_everything()
    nlp = spacy.blank("uk")
    nlp.add_pipe("rnn_ner", source=spacy.load(tmp_path / "base"))
    ner = nlp.get_pipe("rnn_ner")
    new_data = [("Компанія Рошен продає цукерки .", [(9, 14, "PROD")])] * 2
    examples = make_examples(nlp, TRAIN_DATA + new_data)
    optimizer = nlp.resume_training()
    optimizer.learn_rate = 0.01
    for _ in range(40):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    assert ner.labels == ("LOC", "MISC", "ORG", "PERS", "PROD")
    assert ner.model.get_ref("output_layer").get_dim("nO") == 11
    assert ents_of(nlp("Компанія Рошен продає цукерки .")) == [("Рошен", "PROD")]
    scores = nlp.evaluate(make_examples(nlp, TRAIN_DATA))
    for label in ("LOC", "ORG", "PERS"):
        assert scores["ents_per_type"][label]["f"] == 1.0
    nlp.to_disk(tmp_path / "tuned")
    assert ents_of(spacy.load(tmp_path / "tuned")("Компанія Рошен продає цукерки .")) == [("Рошен", "PROD")]


@pytest.mark.parametrize("listener", ["spacy_rnn_ner.Tok2VecListener.v1", "spacy.Tok2VecListener.v1"])
def test_shared_tok2vec_listener(listener, tmp_path):
    """rnn_ner listening to spaCy's tok2vec component; with our listener the width is
    left null and taken from the tok2vec component at initialize."""
    seed_everything()
    nlp = spacy.blank("uk")
    nlp.add_pipe("tok2vec")
    width = None if listener.startswith("spacy_rnn_ner") else 96
    ner = nlp.add_pipe(
        "rnn_ner", config={"model": {"hidden_width": 32, "tok2vec": {"@architectures": listener, "width": width}}}
    )
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    assert ner.model.get_ref("rnn").get_dim("nI") == 96
    optimizer.learn_rate = 0.01
    for _ in range(60):
        nlp.update(examples, sgd=optimizer)
    wanted = [[(text[s:e], label) for s, e, label in ents] for text, ents in TRAIN_DATA]
    assert [ents_of(nlp(text)) for text, _ in TRAIN_DATA] == wanted
    nlp.to_disk(tmp_path / "model")
    assert [ents_of(d) for d in spacy.load(tmp_path / "model").pipe([t for t, _ in TRAIN_DATA])] == wanted
