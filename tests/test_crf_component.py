"""The rnn_ner component with a CRF output: learns, decodes valid BIO, saves, resizes."""
import numpy
import spacy

from conftest import SMALL_MODEL, TRAIN_DATA, ents_of, make_examples, seed_everything


def gold(text, ents):
    return [(text[s:e], label) for s, e, label in ents]


def test_crf_output_overfits_saves_and_loads(tmp_path):
    seed_everything()
    nlp = spacy.blank("uk")
    nlp.add_pipe("rnn_ner", config={"model": dict(SMALL_MODEL, output="crf"), "label_weighting": "sqrt_inverse_frequency"})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    ner = nlp.get_pipe("rnn_ner")
    crf = ner.model.get_ref("crf")
    first = None
    for _ in range(80):
        losses = nlp.update(examples, sgd=optimizer, drop=0.0)
        first = losses["rnn_ner"] if first is None else first
    assert losses["rnn_ner"] < 0.05 * first
    assert not numpy.allclose(crf.get_param("transitions"), 0)  # the transitions learned
    for text, ents in TRAIN_DATA:
        assert ents_of(nlp(text)) == gold(text, ents)
    doc = nlp(TRAIN_DATA[0][0])
    scores = doc.spans["rnn_ner"].attrs["scores"]
    assert ((scores > 0.5) & (scores <= 1.0)).all()  # CRF marginals
    nlp.to_disk(tmp_path / "model")
    nlp2 = spacy.load(tmp_path / "model")
    texts = [t for t, _ in TRAIN_DATA]
    assert [ents_of(d) for d in nlp2.pipe(texts + ["", "  "])] == [ents_of(nlp(t)) for t in texts] + [[], []]
    numpy.testing.assert_array_equal(
        nlp2.get_pipe("rnn_ner").model.get_ref("crf").get_param("transitions"), crf.get_param("transitions")
    )
    # a new label grows the output layer and the CRF
    nlp2.get_pipe("rnn_ner").add_label("PROD")
    model2 = nlp2.get_pipe("rnn_ner").model
    assert model2.get_ref("crf").get_param("transitions").shape == (11, 11)
    numpy.testing.assert_array_equal(model2.get_ref("crf").get_param("transitions")[:9, :9], crf.get_param("transitions"))
    assert [ents_of(d) for d in nlp2.pipe(texts)] == [ents_of(nlp(t)) for t in texts]


def test_confidences_only_with_a_spans_key(monkeypatch):
    """spans_key null: the component decodes with Viterbi alone (no marginals computed)
    and finds the same entities; the span group's scores come with a spans_key."""
    import pytest

    from spacy_rnn_ner.layers import crf as crf_module

    seed_everything()
    nlp = spacy.blank("uk")
    ner = nlp.add_pipe("rnn_ner", config={"model": dict(SMALL_MODEL, output="crf"), "spans_key": None})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    calls = []
    real = crf_module.marginals
    monkeypatch.setattr(crf_module, "marginals", lambda *args: calls.append(1) or real(*args))
    texts = [t for t, _ in TRAIN_DATA]
    docs = list(nlp.pipe(texts))
    assert calls == [] and all(not doc.spans for doc in docs)
    assert all(p.tag_probs is None for p in ner.predict(docs))
    ner.spans_key = "rnn_ner"
    scored = list(nlp.pipe(texts))
    assert calls and [ents_of(d) for d in scored] == [ents_of(d) for d in docs]
    assert [len(d.spans["rnn_ner"].attrs["scores"]) for d in scored] == [len(d.ents) for d in scored]
    ner.spans_key = None
    predictions = ner.predict(docs)
    ner.spans_key = "rnn_ner"
    with pytest.raises(ValueError, match="no confidences"):
        ner.set_annotations(docs, predictions)
