"""Character language models (train, resume, file format) and CharLMFeatures.v1."""
import pickle
import random
import shutil

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc

from conftest import SMALL_MODEL, make_examples, seed_everything
from spacy_rnn_ner.architectures import build_char_lm_features, build_token_features
from spacy_rnn_ner.layers.char_lm_model import UNK, CharLanguageModel, CharVocab, load_lm_dict, vocab_from_text
from spacy_rnn_ner.cli import run
from spacy_rnn_ner.resources.char_lm import TrainConfig, bits_per_char, to_streams, train

WORDS = ["Київ", "місто", "на", "Дніпрі", ",", "Тарас", "пише", "вірші", ".", "у", "Львові", "дощ",
         "Олена", "читає", "книгу", "—", "2017", "року", "«", "»"]


def synthetic_text(n_lines: int = 400, seed: int = 0) -> str:
    rng = random.Random(seed)
    lines = []
    for _ in range(n_lines):
        # a little structure to learn: capitalised first word, full stop at the end
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 9))]
        lines.append(" ".join([words[0].capitalize()] + words[1:] + ["."]))
    return "\n".join(lines) + "\n"


def tiny_config(**overrides) -> TrainConfig:
    settings = dict(embed_width=8, hidden_width=16, dropout=0.0, seq_length=20, batch_size=4,
                    learn_rate=0.01, dev_chars=1000, max_steps=60, checkpoint_minutes=0,
                    log_seconds=1e9, min_count=1)
    settings.update(overrides)
    return TrainConfig(**settings)


def quiet(message: str) -> None:
    pass


@pytest.fixture(scope="module")
def lm_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("char_lm")
    text = directory / "text.txt"
    text.write_text(synthetic_text(), encoding="utf8")
    paths = {}
    for direction in ("forward", "backward"):
        paths[direction] = directory / f"{direction}.pt"
        train(text, paths[direction], tiny_config(direction=direction, max_steps=80), log=quiet)
    return paths


# the language model -------------------------------------------------------------


def test_vocab_encodes_unknown_characters_as_zero():
    vocab = vocab_from_text("abba c", min_count=2)
    assert vocab.chars == [UNK, "a", "b"]
    numpy.testing.assert_array_equal(vocab.encode("abcz"), [1, 2, 0, 0])
    with pytest.raises(ValueError):
        CharVocab(["a", "b"])


def test_backward_model_reads_reversed_text():
    vocab = vocab_from_text("abc")
    forward = CharLanguageModel(vocab, "forward", 4, 8)
    backward = CharLanguageModel(vocab, "backward", 4, 8)
    numpy.testing.assert_array_equal(backward.encode("abc"), forward.encode("abc")[::-1])


def test_training_lowers_dev_bpc_and_writes_a_weights_only_file(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text(synthetic_text(), encoding="utf8")
    config = tiny_config(max_steps=80)
    summary = train(text, tmp_path / "lm.pt", config, log=quiet)
    content = load_lm_dict(tmp_path / "lm.pt")  # weights_only=True
    assert content["hparams"]["hidden_width"] == 16 and content["vocab"][0] == UNK
    lm = CharLanguageModel.load(tmp_path / "lm.pt")
    untrained = CharLanguageModel(lm.vocab, "forward", 8, 16)
    dev = to_streams(untrained.encode(text.read_text(encoding="utf8")[-1000:]), 4, torch.device("cpu"))
    before, after = bits_per_char(untrained, dev, 50), bits_per_char(lm, dev, 50)
    assert summary["dev_bpc"] == pytest.approx(after, rel=1e-4)
    assert after < before - 1.0, (before, after)
    assert summary["steps"] == 80 and summary["chars_per_second"] > 0


def test_resume_continues_exactly(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text(synthetic_text(), encoding="utf8")
    straight = train(text, tmp_path / "a.pt", tiny_config(max_steps=40, checkpoint_steps=20, dropout=0.2),
                     log=quiet)
    train(text, tmp_path / "b.pt", tiny_config(max_steps=20, checkpoint_steps=20, dropout=0.2), log=quiet)
    messages = []
    resumed = train(text, tmp_path / "b.pt", tiny_config(max_steps=40, checkpoint_steps=20, dropout=0.2),
                    resume=True, log=messages.append)
    assert any("resumed" in m and "step 20" in m for m in messages)
    assert resumed["steps"] == straight["steps"] == 40
    a = torch.load(tmp_path / "a.pt.ckpt", weights_only=True)["lm"]["state_dict"]
    b = torch.load(tmp_path / "b.pt.ckpt", weights_only=True)["lm"]["state_dict"]
    for name in a:
        torch.testing.assert_close(a[name], b[name])


def test_resume_refuses_another_text(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text(synthetic_text(), encoding="utf8")
    train(text, tmp_path / "lm.pt", tiny_config(max_steps=2), log=quiet)
    text.write_text(synthetic_text(seed=1), encoding="utf8")
    with pytest.raises(ValueError, match="different text"):
        train(text, tmp_path / "lm.pt", tiny_config(max_steps=4), resume=True, log=quiet)


def main(args):
    """``python -m spacy_rnn_ner train-char-lm ARGS`` in this process (exit status)."""
    return run(["train-char-lm", *args])


def test_cli_errors(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text(synthetic_text(), encoding="utf8")
    out = str(tmp_path / "lm.pt")
    assert main([str(text), out, "--resume", "--max-steps", "1"]) == 1
    assert "no checkpoint" in capsys.readouterr().err
    assert main([str(text), out, "--max-steps", "1", "--dev-chars", "1000000"]) == 1
    assert "too short" in capsys.readouterr().err
    assert main([str(text), out]) == 1
    assert "stopping point" in capsys.readouterr().err
    assert main([str(text), out, "--direction", "sideways", "--max-steps", "1"]) == 1
    if not torch.cuda.is_available():
        assert main([str(text), out, "--gpu-id", "0", "--max-steps", "1"]) == 1
        assert "CUDA is not available" in capsys.readouterr().err


def test_cli_trains(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text(synthetic_text(), encoding="utf8")
    args = [str(text), str(tmp_path / "lm.pt"), "--direction", "backward", "--hidden-width", "8",
            "--embed-width", "4", "--seq-length", "20", "--batch-size", "4", "--dev-chars", "1000",
            "--max-steps", "3", "--log-seconds", "0"]
    assert main(args) == 0
    output = capsys.readouterr().out
    assert "chars/s" in output and "ETA" in output and "dev bpc" in output
    assert CharLanguageModel.load(tmp_path / "lm.pt").direction == "backward"


# the feature layer ----------------------------------------------------------------


def features(lm_files, width=None, **settings):
    lm_width = 2 * 16
    layer = build_char_lm_features(str(lm_files["forward"]), str(lm_files["backward"]),
                                   width=width or lm_width, projection=width is not None, **settings)
    layer.initialize()
    return layer


def make_doc(words, sent_starts=None):
    return Doc(spacy.blank("uk").vocab, words=words, sent_starts=sent_starts)


def last_state(lm: CharLanguageModel, text: str) -> numpy.ndarray:
    with torch.no_grad():
        H, _ = lm.net(torch.as_tensor(lm.vocab.encode(text))[None, :])
    return H[0, -1].numpy().astype("float16").astype("float32")  # the layer's precision


FP16 = 1e-3  # states are rounded to float16: one unit in the last place near 1 is 5e-4


def test_word_boundary_states_match_a_direct_computation(lm_files):
    layer = features(lm_files)
    words = ["Київ", ",", "місто", "на", "Дніпрі"]
    doc = Doc(spacy.blank("uk").vocab, words=words, spaces=[False, True, True, True, False])
    [Y] = layer.predict([doc])
    assert Y.shape == (5, 32)
    forward_lm = CharLanguageModel.load(lm_files["forward"])
    backward_lm = CharLanguageModel.load(lm_files["backward"])
    joined = " ".join(words)  # tokens joined by single spaces, whatever the doc's spacing
    for i in range(len(words)):
        start = len(" ".join(words[:i])) + (1 if i else 0)
        end = start + len(words[i])
        expected_fw = last_state(forward_lm, "\n" + joined[:end])  # after the last character
        expected_bw = last_state(backward_lm, "\n" + joined[start:][::-1])  # after the first one
        numpy.testing.assert_allclose(Y[i, :16], expected_fw, atol=FP16)
        numpy.testing.assert_allclose(Y[i, 16:], expected_bw, atol=FP16)


def test_projection_width_and_empty_docs(lm_files):
    layer = features(lm_files, width=12)
    assert layer.get_dim("nO") == 12
    Ys = layer.predict([make_doc(["Тарас", "пише"]), make_doc([]), make_doc(["."])])
    assert [Y.shape for Y in Ys] == [(2, 12), (0, 12), (1, 12)]


def test_doc_alone_equals_doc_in_a_batch_whatever_the_chunking(lm_files):
    rng = random.Random(0)
    docs = [make_doc([rng.choice(WORDS) for _ in range(n)]) for n in (7, 1, 30, 12, 3)]
    layer = features(lm_files)
    batched = layer.predict(docs)
    small_chunks = features(lm_files, batch_chars=40, window=7).predict(docs)
    for doc, Y, Y_small in zip(docs, batched, small_chunks):
        numpy.testing.assert_allclose(layer.predict([doc])[0], Y, atol=FP16)
        numpy.testing.assert_allclose(Y_small, Y, atol=FP16)


def test_sentences_are_read_separately(lm_files):
    first, second = ["Тарас", "пише", "."], ["Олена", "читає", "книгу", "."]
    doc = make_doc(first + second, sent_starts=[True, False, False, True, False, False, False])
    [Y] = features(lm_files).predict([doc])
    [Y_second] = features(lm_files).predict([make_doc(second)])
    numpy.testing.assert_allclose(Y[3:], Y_second, atol=FP16)
    [Y_whole] = features(lm_files, sentence_level=False).predict([doc])
    assert not numpy.allclose(Y_whole[3:], Y_second, atol=1e-3)


def test_long_doc_in_windows(lm_files):
    rng = random.Random(1)
    doc = make_doc([rng.choice(WORDS) for _ in range(3000)])
    layer = features(lm_files, batch_chars=4096, window=256)
    [Y] = layer.predict([doc])
    [Y_ref] = features(lm_files, window=100_000).predict([doc])
    assert Y.shape == (3000, 32)
    numpy.testing.assert_allclose(Y, Y_ref, atol=FP16)


def test_state_cache_is_used_and_bounded(lm_files):
    docs = [make_doc(["Тарас", "пише", "."]), make_doc(["Олена", "читає", "книгу", "."])]
    layer = features(lm_files, width=12, cache_tokens=5)
    net = layer.shims[0]._model
    first = layer.predict(docs)
    assert list(net.cache.entries) == [" ".join(t.text for t in docs[1]).encode("utf-32-le")]
    assert net.cache.used == 4  # 3 + 4 tokens do not fit in 5: the older sentence is dropped
    net.cache.entries[next(iter(net.cache.entries))][:] = 0  # prove the next call reads the cache
    second = layer.predict(docs)
    numpy.testing.assert_array_equal(second[0], first[0])
    assert not numpy.allclose(second[1], first[1])
    uncached = features(lm_files, width=12, cache_tokens=0)
    uncached.from_bytes(layer.to_bytes())
    numpy.testing.assert_array_equal(uncached.predict(docs)[0], first[0])
    assert uncached.shims[0]._model.cache.used == 0
    assert len(pickle.loads(pickle.dumps(layer)).shims[0]._model.cache.entries) == 0


def test_clear_errors(lm_files, tmp_path):
    with pytest.raises(ValueError, match="width = 10 but the two LMs give 32"):
        build_char_lm_features(str(lm_files["forward"]), str(lm_files["backward"]), width=10,
                               projection=False).initialize()
    with pytest.raises(ValueError, match="forward_path must hold a forward LM"):
        build_char_lm_features(str(lm_files["backward"]), str(lm_files["forward"]), width=8).initialize()
    from confection import ConfigValidationError

    with pytest.raises(ConfigValidationError) as caught:  # spacy train prints it without a traceback
        build_char_lm_features(str(tmp_path / "missing.pt"), str(lm_files["backward"])).initialize()
    assert caught.value.title == (f"spacy_rnn_ner.CharLMFeatures.v1: forward_path {tmp_path / 'missing.pt'}: "
                                  "no such file (train it with train-char-lm)")
    (tmp_path / "damaged.pt").write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ConfigValidationError, match="damaged.pt: damaged or not a character language model"):
        build_char_lm_features(str(lm_files["forward"]), str(tmp_path / "damaged.pt")).initialize()
    with pytest.raises(ValueError, match="not initialized"):
        build_char_lm_features("a", "b").predict([make_doc(["a"])])
    with pytest.raises(ValueError, match="dropout"):
        build_char_lm_features("a", "b", dropout=1.5)


def test_layer_pickles_and_round_trips_bytes(lm_files):
    layer = features(lm_files, width=12)
    doc = make_doc(["Київ", "місто", "."])
    expected = layer.predict([doc])[0]
    clone = pickle.loads(pickle.dumps(layer))
    numpy.testing.assert_allclose(clone.predict([doc])[0], expected, atol=1e-6)
    fresh = build_char_lm_features("/nonexistent/f.pt", "/nonexistent/b.pt", width=12)
    fresh.from_bytes(layer.to_bytes())
    numpy.testing.assert_allclose(fresh.predict([doc])[0], expected, atol=1e-6)


def test_token_features_accept_the_layer_as_extra_features(lm_files):
    lm = features(lm_files, width=12)
    token_features = build_token_features(width=8, rows=[50, 50, 50, 50], extra_features=lm)
    assert token_features.get_dim("nO") == 20


def pipeline_config(lm_files, forward_path=None, fine_tune=False):
    model = dict(SMALL_MODEL)
    model["tok2vec"] = dict(SMALL_MODEL["tok2vec"], extra_features={
        "@architectures": "spacy_rnn_ner.CharLMFeatures.v1",
        "forward_path": str(forward_path or lm_files["forward"]),
        "backward_path": str(lm_files["backward"]),
        "width": 12, "fine_tune": fine_tune,
    })
    return {"model": model}


@pytest.mark.parametrize("fine_tune", [False, True])
def test_pipeline_trains_saves_and_loads_without_lm_files(lm_files, tmp_path, fine_tune):
    directory = tmp_path / "lms"
    directory.mkdir()
    forward_copy = directory / "forward.pt"
    shutil.copy(lm_files["forward"], forward_copy)
    seed_everything()
    nlp = spacy.blank("uk")
    nlp.add_pipe("rnn_ner", config=pipeline_config(lm_files, forward_copy, fine_tune))
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    net = nlp.get_pipe("rnn_ner").model.get_ref("tok2vec").layers[-1].shims[0]._model
    lm_before = {k: v.clone() for k, v in net.lms.state_dict().items()}
    projection_before = net.projection.weight.detach().clone()
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    assert not torch.equal(projection_before, net.projection.weight)  # gradients reach the projection
    lm_changed = any(not torch.equal(lm_before[k], v) for k, v in net.lms.state_dict().items())
    assert lm_changed == fine_tune  # frozen unless fine-tuned
    texts = ["Тарас Шевченко народився в Моринцях .", "Київ є столицею України ."]
    expected = [doc.to_array(["ENT_IOB", "ENT_TYPE"]) for doc in nlp.pipe(texts)]
    probabilities = nlp.get_pipe("rnn_ner").model.predict([nlp.make_doc(texts[0])])[0]
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(directory)  # the LM files are gone: the pipeline must carry the LMs
    loaded = spacy.load(tmp_path / "pipeline")
    got = [doc.to_array(["ENT_IOB", "ENT_TYPE"]) for doc in loaded.pipe(texts)]
    for a, b in zip(expected, got):
        numpy.testing.assert_array_equal(a, b)
    reloaded = loaded.get_pipe("rnn_ner").model.predict([loaded.make_doc(texts[0])])[0]
    numpy.testing.assert_allclose(reloaded, probabilities, atol=FP16)
    again = pickle.loads(pickle.dumps(loaded))
    numpy.testing.assert_allclose(
        again.get_pipe("rnn_ner").model.predict([again.make_doc(texts[0])])[0], probabilities, atol=FP16)


def test_a_run_that_diverges_writes_no_model_and_says_so(tmp_path, capsys):
    """Issue 28: a dev bpc that is never finite (NaN, inf) saves no model: an error, not
    a last line naming a file that was not written."""
    text = tmp_path / "text.txt"
    text.write_text(synthetic_text(), encoding="utf8")
    args = [str(text), str(tmp_path / "lm.pt"), "--hidden-width", "8", "--embed-width", "4", "--seq-length",
            "20", "--batch-size", "4", "--dev-chars", "1000", "--learn-rate", "1e38", "--grad-clip", "0",
            "--optimizer", "sgd", "--max-steps", "5"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1].startswith(
        "error: training diverged: the dev bpc was never a finite number (last ")
    assert f"so no model was written to {tmp_path / 'lm.pt'}" in captured.err
    assert "-> " + str(tmp_path / "lm.pt") not in captured.out
    assert not (tmp_path / "lm.pt").exists()
