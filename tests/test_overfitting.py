"""Each cell learns a few sentences perfectly; saving, loading and batching keep the ents."""
import pytest
import spacy

from conftest import TRAIN_DATA, ents_of, train_nlp


def gold_ents(text, ents):
    return [(text[s:e], label) for s, e, label in ents]


@pytest.mark.parametrize("rnn_type", ["rnn", "gru", "lstm"])
def test_overfit_save_load_pipe(rnn_type, tmp_path):
    nlp = train_nlp(rnn_type, n_iter=80)
    texts = [text for text, _ in TRAIN_DATA]
    for text, ents in TRAIN_DATA:
        assert ents_of(nlp(text)) == gold_ents(text, ents)

    nlp.to_disk(tmp_path / "model")
    nlp2 = spacy.load(tmp_path / "model")
    for text, ents in TRAIN_DATA:
        assert ents_of(nlp2(text)) == gold_ents(text, ents)

    # batch composition does not change results, padding never leaks in
    singles = [ents_of(nlp2(text)) for text in texts]
    for batch_size in (1, 2, 4, 100):
        mixed = texts + ["", "   "] + texts[::-1]
        batched = [ents_of(doc) for doc in nlp2.pipe(mixed, batch_size=batch_size)]
        assert batched == singles + [[], []] + singles[::-1]


def test_layer_sizes_survive_reload(tmp_path, trained_lstm):
    trained_lstm.to_disk(tmp_path / "model")
    nlp2 = spacy.load(tmp_path / "model")
    ner = nlp2.get_pipe("rnn_ner")
    out = ner.model.get_ref("output_layer")
    assert out.get_dim("nO") == 1 + 2 * 4
    assert ner.model.get_ref("rnn").get_dim("nO") == 64  # 2 directions x 32
    assert ner.labels == ("LOC", "MISC", "ORG", "PERS")


def test_bytes_round_trip(trained_lstm):
    nlp2 = spacy.blank("uk")
    config = dict(trained_lstm.config["components"]["rnn_ner"])
    config.pop("factory")
    nlp2.add_pipe("rnn_ner", config=config)
    nlp2.from_bytes(trained_lstm.to_bytes())
    for text, _ in TRAIN_DATA:
        assert ents_of(nlp2(text)) == ents_of(trained_lstm(text))
    ner = trained_lstm.get_pipe("rnn_ner")
    ner2 = nlp2.get_pipe("rnn_ner")
    assert ner2.cfg == ner.cfg


def test_multiprocess_pipe_equals_single(trained_lstm):
    texts = [text for text, _ in TRAIN_DATA] * 3
    single = [ents_of(trained_lstm(text)) for text in texts]
    multi = [ents_of(doc) for doc in trained_lstm.pipe(texts, batch_size=2, n_process=2)]
    assert multi == single
