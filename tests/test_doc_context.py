"""Document context (``RNNTagger.v3``): keys through inflection, groups inside one document,
exact gradients, batch invariance, training and reloading."""
import numpy
import pytest
import spacy
from thinc.api import NumpyOps

from conftest import SMALL_MODEL, TRAIN_DATA, ents_of, make_examples, seed_everything
from spacy_rnn_ner.layers.doc_context import doc_context_layer, shared_mentions, word_key


def test_word_key_sees_through_inflection():
    assert word_key("Шевченко") == word_key("Шевченка") == word_key("Шевченком") == "шевче"
    assert word_key("Франко") == word_key("Франка") == "франк"
    assert word_key("ООН") == "оон"
    assert word_key("Львова") != word_key("Луцька")
    # only capitalised words have a key
    assert word_key("шевченко") == word_key("2019") == word_key(".") == word_key("") == ""


def test_groups_never_cross_documents():
    nlp = spacy.blank("uk")
    docs = [nlp("Шевченко і Шевченка . Київ і Київ"), nlp("Шевченком"), nlp(""), nlp("і і Франко Франка")]
    mentions = shared_mentions(docs)
    # lowercase words, punctuation and a name mentioned once have no group
    assert mentions.positions.tolist() == [0, 2, 4, 6, 10, 11]
    assert mentions.groups.tolist() == [0, 0, 1, 1, 2, 2] and mentions.n_groups == 3
    assert mentions.others.tolist() == [1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1]
    assert shared_mentions([]).n_groups == 0


def test_mean_of_other_mentions_and_exact_gradient():
    nlp = spacy.blank("uk")
    docs = [nlp("Шевченко бачив Шевченка і Шевченком"), nlp("Київ Київ")]
    n = sum(len(d) for d in docs)
    layer = doc_context_layer(3)
    layer.initialize()
    rng = numpy.random.default_rng(0)
    H = rng.normal(size=(n, 3)).astype("float32")
    Y, backprop = layer((H, docs), is_train=True)
    assert Y.shape == (n, 7)
    numpy.testing.assert_allclose(Y[0, 3:6], (H[2] + H[4]) / 2, rtol=1e-6)
    numpy.testing.assert_allclose(Y[5, 3:6], H[6], rtol=1e-6)
    assert Y[1, 3:7].tolist() == [0, 0, 0, 0]            # no other mention: zeros
    numpy.testing.assert_allclose(Y[0, 6], numpy.log(3), rtol=1e-6)
    # the backward pass is the transpose of the forward map (checked numerically)
    dY = rng.normal(size=Y.shape).astype("float32")
    dH = backprop(dY)
    eps = 1e-2
    numeric = numpy.zeros_like(H)
    for i in range(n):
        for j in range(3):
            Hp, Hm = H.copy(), H.copy()
            Hp[i, j] += eps
            Hm[i, j] -= eps
            numeric[i, j] = ((layer((Hp, docs), False)[0] - layer((Hm, docs), False)[0]) * dY).sum() / (2 * eps)
    numpy.testing.assert_allclose(dH, numeric, rtol=1e-2, atol=1e-3)


def test_empty_batch():
    layer = doc_context_layer(4)
    Y, backprop = layer((NumpyOps().alloc2f(0, 4), []), is_train=True)
    assert Y.shape == (0, 9)
    assert backprop(Y).shape == (0, 4)


def build_v3(**overrides):
    seed_everything()
    nlp = spacy.blank("uk")
    nlp.add_pipe("sentencizer")
    model = dict(SMALL_MODEL, **{"@architectures": "spacy_rnn_ner.RNNTagger.v3"}, **overrides)
    nlp.add_pipe("rnn_ner", config={"model": model})
    return nlp


def test_v3_trains_saves_and_predicts_the_same_in_any_batch(tmp_path):
    nlp = build_v3()
    data = [(" ".join(t for t, _ in TRAIN_DATA[:2]), [])] + TRAIN_DATA
    examples = make_examples(nlp, TRAIN_DATA)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(60):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    texts = [text for text, _ in TRAIN_DATA]
    assert ents_of(nlp(texts[0])) == [("Тарас Шевченко", "PERS"), ("Моринцях", "LOC")]
    one_by_one = [ents_of(nlp(t)) for t in texts]
    assert [ents_of(d) for d in nlp.pipe(texts, batch_size=4)] == one_by_one
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.get_pipe("rnn_ner").model.has_ref("doc_context")
    assert [ents_of(d) for d in loaded.pipe(texts)] == one_by_one
    assert data  # (the joined text is only there to give a doc two sentences)
    two = loaded(data[0][0])
    assert len(list(two.sents)) == 2


def test_v2_has_no_doc_context():
    seed_everything()
    nlp = spacy.blank("uk")
    nlp.add_pipe("rnn_ner", config={"model": SMALL_MODEL})
    assert not nlp.get_pipe("rnn_ner").model.has_ref("doc_context")


@pytest.mark.parametrize("context", [True, False])
def test_output_width_follows_the_context(context):
    nlp = build_v3(doc_context=context)
    nlp.initialize(lambda: make_examples(nlp))
    model = nlp.get_pipe("rnn_ner").model
    rnn_width = model.get_ref("rnn").get_dim("nO")
    assert model.get_ref("output_layer").get_dim("nI") == (2 * rnn_width + 1 if context else rnn_width)
    assert not model.has_ref("context_rnn")


def test_context_rnn_reads_the_context_and_reloads(tmp_path):
    nlp = build_v3(context_depth=1)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    model = nlp.get_pipe("rnn_ner").model
    context_rnn = model.get_ref("context_rnn")
    assert context_rnn.get_dim("nI") == model.get_ref("doc_context").get_dim("nO")
    assert model.get_ref("output_layer").get_dim("nI") == context_rnn.get_dim("nO")
    optimizer.learn_rate = 0.01
    for _ in range(40):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    texts = [text for text, _ in TRAIN_DATA]
    expected = [ents_of(d) for d in nlp.pipe(texts)]
    assert expected[0] == [("Тарас Шевченко", "PERS"), ("Моринцях", "LOC")]
    nlp.to_disk(tmp_path / "p")
    assert [ents_of(d) for d in spacy.load(tmp_path / "p").pipe(texts)] == expected
    with pytest.raises(ValueError, match="context_depth"):
        build_v3(context_depth=-1)


def test_fused_scores_equal_the_linear_layer_over_the_context():
    """At prediction time the output layer is applied without the wide context array:
    the same scores as ``Linear(doc_context(H))``."""
    from thinc.api import Linear

    from spacy_rnn_ner.layers.doc_context import doc_context_scores

    nlp = spacy.blank("uk")
    docs = [nlp("Шевченко бачив Шевченка і Шевченком . Київ"), nlp("Київ Київ Львів")]
    n = sum(len(d) for d in docs)
    rng = numpy.random.default_rng(1)
    H = rng.normal(size=(n, 4)).astype("float32")
    layer, linear = doc_context_layer(4), Linear(nO=5, nI=9)
    layer.initialize()
    linear.initialize()
    linear.set_param("b", rng.normal(size=(5,)).astype("float32"))
    wide = linear.predict(layer.predict((H, docs)))
    fused = doc_context_scores(NumpyOps(), H, docs, linear.get_param("W"), linear.get_param("b"))
    numpy.testing.assert_allclose(fused, wide, rtol=1e-5, atol=1e-6)


def test_prediction_uses_the_fused_scores(monkeypatch):
    """The tagger's predict goes through the fused path (and gives the same entities)."""
    from spacy_rnn_ner.layers import doc_context as doc_context_module
    from spacy_rnn_ner.layers import rnn_tagger

    nlp = build_v3()
    nlp.initialize(lambda: make_examples(nlp))
    texts = [text for text, _ in TRAIN_DATA]
    calls = []
    real = doc_context_module.doc_context_scores
    monkeypatch.setattr(rnn_tagger, "doc_context_scores", lambda *a: calls.append(1) or real(*a))
    model = nlp.get_pipe("rnn_ner").model
    docs = [nlp.make_doc(t) for t in texts]
    fused = model.predict(docs).scores
    assert calls
    # the unfused computation, layer by layer
    ops = model.ops
    X = ops.flatten(model.get_ref("tok2vec").predict(docs))
    H = model.get_ref("rnn").predict((X, rnn_tagger.segment_lengths(docs, True)))
    wide = model.get_ref("output_layer").predict(model.get_ref("doc_context").predict((H, docs)))
    numpy.testing.assert_allclose(fused, wide, rtol=1e-4, atol=1e-5)
