"""Component-level tests of ``rnn_ner``: configuration, bad input, labels, existing
entities, scores, label weighting, the loss, the scorer and the decoding constraints."""
import math
import re
import subprocess
import sys

import numpy
import pytest
import spacy
import srsly
from spacy.tokens import Doc, Span
from spacy.training import Example, offsets_to_biluo_tags
from torch import nn

from conftest import SMALL_MODEL, TRAIN_DATA, build_nlp, ents_of, make_examples, seed_everything, train_nlp
from spacy_rnn_ner.label_weights import label_weights
from spacy_rnn_ner.pipeline_component import RNNEntityRecognizer
from spacy_rnn_ner.scorer import score_ents
from spacy_rnn_ner.layers.packed_rnn import torch_module
from spacy_rnn_ner.layers.rnn_tagger import TagScores, segment_lengths

LABELS = ("LOC", "MISC", "ORG", "PERS")
TEXTS = [text for text, _ in TRAIN_DATA]


def gold_ents(text, ents):
    return [(text[s:e], label) for s, e, label in ents]


def assert_valid_spans(doc, labels=LABELS):
    ents = list(doc.ents)
    text = doc.text  # computed on each access: keep it out of the loop
    for ent in ents:
        assert 0 <= ent.start < ent.end <= len(doc)
        assert ent.label_ in labels
        assert ent.text == text[ent.start_char : ent.end_char]
        assert not any(token.is_space for token in ent)
    for a, b in zip(ents, ents[1:]):
        assert a.end <= b.start


def words_of_train_data(nlp):
    return [[t.text for t in nlp.make_doc(text)] for text in TEXTS]


def repeated_doc(nlp, n_tokens):
    pattern = [w for words in words_of_train_data(nlp) for w in words]
    words = (pattern * (n_tokens // len(pattern) + 1))[:n_tokens]
    return Doc(nlp.vocab, words=words)


# configuration ---------------------------------------------------------------------


@pytest.mark.parametrize("rnn_type", ["rnn", "gru", "lstm"])
def test_default_model_config_each_rnn_type(rnn_type):
    nlp = spacy.blank("uk")
    ner = nlp.add_pipe("rnn_ner", config={"model": {"rnn_type": rnn_type}})
    module = torch_module(ner.model.get_ref("rnn"))
    [rnn] = module.layers  # depth 1
    assert type(rnn) is {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[rnn_type]
    # default sizes: 128 units per direction, bidirectional; token features 96 + 64
    assert rnn.hidden_size == 128 and rnn.bidirectional
    assert ner.model.get_ref("rnn").get_dim("nO") == 256
    assert ner.model.get_ref("tok2vec").get_dim("nO") == 160
    cfg = nlp.config["components"]["rnn_ner"]["model"]
    assert cfg["rnn_type"] == rnn_type and cfg["tok2vec"]["char_encoder"]["max_chars"] == 20
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    losses = nlp.update(examples, sgd=optimizer)
    assert math.isfinite(losses["rnn_ner"]) and losses["rnn_ner"] > 0
    doc = nlp(TEXTS[0])
    assert_valid_spans(doc)


@pytest.mark.parametrize(
    "config,patterns",
    [
        ({"model": {"rnn_type": "transformer"}}, ["rnn_type", "transformer", "'rnn'", "'gru'", "'lstm'"]),
        ({"model": {"hidden_width": -5}}, ["hidden_width", "-5", "positive"]),
        ({"model": {"depth": 0}}, ["depth", "positive"]),
        ({"model": {"dropout": 1.5}}, ["dropout", "1.5", r"\[0, 1\)"]),
        ({"model": {"dropout": -0.1}}, ["dropout"]),
        ({"model": {"tok2vec": {"char_encoder": {"max_chars": 0}}}}, ["max_chars"]),
        ({"model": {"tok2vec": {"char_encoder": {"dropout": 1.0}}}}, ["dropout"]),
        ({"model": {"tok2vec": {"width": 0}}}, ["width"]),
        ({"label_weighting": "foo"}, ["label_weighting", "foo", "'none'", "'inverse_frequency'", "'sqrt_inverse_frequency'"]),
        ({"model": {"tok2vec": {"char_encoder": {"n_rows": 1}}}}, ["n_rows"]),
    ],
)
def test_config_errors_name_setting_and_choices(config, patterns):
    nlp = spacy.blank("uk")
    with pytest.raises(Exception) as excinfo:
        nlp.add_pipe("rnn_ner", config=config)
    message = str(excinfo.value)
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)


def test_rnn_type_is_case_insensitive():
    nlp = spacy.blank("uk")
    ner = nlp.add_pipe("rnn_ner", config={"model": {"rnn_type": "GRU"}})
    assert type(torch_module(ner.model.get_ref("rnn")).layers[0]) is nn.GRU


# bad input on a trained pipeline -------------------------------------------------


def test_trained_pipeline_overfits(trained_lstm):
    for text, ents in TRAIN_DATA:
        assert ents_of(trained_lstm(text)) == gold_ents(text, ents)


def test_empty_and_whitespace_docs(trained_lstm):
    doc = trained_lstm("")
    assert len(doc) == 0 and doc.ents == ()
    assert len(doc.spans["rnn_ner"]) == 0
    assert len(doc.spans["rnn_ner"].attrs["scores"]) == 0
    for text in ["   \n  ", " ", "\n\n\t", "\u3000"]:
        doc = trained_lstm(text)
        assert doc.ents == ()
        assert len(doc.spans["rnn_ner"]) == 0
    docs = list(trained_lstm.pipe(["", "", "   "]))
    assert all(doc.ents == () for doc in docs)


def test_pipe_mixing_empty_and_long_docs_equals_single(trained_lstm):
    long_text = " ".join(TEXTS * 20)
    texts = ["", TEXTS[0], long_text, "  ", "", TEXTS[3], "\n", long_text[:500], TEXTS[1]]
    singles = [ents_of(trained_lstm(text)) for text in texts]
    assert singles[1] and singles[2]
    for batch_size in (1, 3, 1000):
        batched = [ents_of(doc) for doc in trained_lstm.pipe(texts, batch_size=batch_size)]
        assert batched == singles


def test_50k_token_document(trained_lstm):
    pattern_len = sum(len(w) for w in words_of_train_data(trained_lstm))
    n_tokens = 50_000
    doc = trained_lstm(repeated_doc(trained_lstm, n_tokens))
    assert len(doc) == n_tokens
    assert_valid_spans(doc)
    n_reps = n_tokens / pattern_len
    ents_per_rep = sum(len(ents) for _, ents in TRAIN_DATA)
    assert 0.9 * n_reps * ents_per_rep <= len(doc.ents) <= 1.1 * n_reps * ents_per_rep
    assert len(doc.spans["rnn_ner"]) == len(doc.ents)
    # the first repetition is recognised as in the training data
    first = [(e.text, e.label_) for e in doc.ents if e.end <= pattern_len]
    assert first == [ent for text, ents in TRAIN_DATA for ent in gold_ents(text, ents)]


RSS_SCRIPT = """
import sys, spacy
from spacy.tokens import Doc
from spacy_rnn_ner.report.memory import extra_peak_rss
nlp = spacy.load(sys.argv[1])
words = ("Тарас Шевченко народився в Моринцях . Київ є столицею України .".split() * 5000)[:int(sys.argv[2])]
nlp(Doc(nlp.vocab, words=words[:50]))  # warm up: libraries loaded, caches filled
with extra_peak_rss() as peak:
    doc = nlp(Doc(nlp.vocab, words=words))
print(len(doc), len(doc.ents), peak["mib"])
"""


def _extra_peak_rss_mib(model_path, n_tokens):
    """Extra peak RSS of one long doc, in a fresh process (tracemalloc cannot see torch)."""
    result = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(model_path), str(n_tokens)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    n, n_ents, extra = result.stdout.split()
    assert int(n) == n_tokens and int(n_ents) > 0
    return float(extra)


@pytest.mark.slow
def test_peak_memory_of_a_50k_token_doc_is_linear_and_small(trained_lstm, tmp_path):
    trained_lstm.to_disk(tmp_path / "model")
    small = _extra_peak_rss_mib(tmp_path / "model", 10_000)
    large = _extra_peak_rss_mib(tmp_path / "model", 50_000)
    assert large < 400, large
    assert large < 5 * max(small, 10) + 50, (small, large)  # linear, not quadratic


UNUSUAL_TEXTS = [
    "Тарас Шевченко 😀👍🏽 народився в Моринцях 🇺🇦 .",
    "Київ\x00є\x07столицею \u200b України\u200b .",
    "Тарас \x1b[31mШевченко\x1b[0m\x0c.",
    "مرحبا Київ שלום Тарас Шевченко 東京 Ελλάδα .",
    "Тара\u0301с Шевче\u0301нко e\u0301 и\u0306 народився .",
    "Олена " + "Пчілка" * 200 + " працювала в Академії наук .",
    "а" * 1000 + " Київ " + "😀" * 1000,
    "\u202eКиїв\u202c \ufeffУкраїни \ud7ff \U0010ffff",
]


def test_unusual_characters(trained_lstm):
    docs = list(trained_lstm.pipe(UNUSUAL_TEXTS, batch_size=3))
    for text, doc in zip(UNUSUAL_TEXTS, docs):
        assert doc.text == text
        assert_valid_spans(doc)
        group = doc.spans["rnn_ner"]
        assert all(0 <= s.start < s.end <= len(doc) for s in group)
        assert ents_of(trained_lstm(text)) == ents_of(doc)


# labels ---------------------------------------------------------------------------


def test_label_in_data_not_in_component_is_added_in_update():
    """As spaCy's ner does: a label first seen in update is added, the output grows."""
    nlp = build_nlp()
    examples = make_examples(nlp)
    nlp.config["initialize"]["components"]["rnn_ner"] = {"labels": ["PERS"]}
    optimizer = nlp.initialize(lambda: examples)
    ner = nlp.get_pipe("rnn_ner")
    assert ner.labels == ("PERS",)
    losses = nlp.update(examples, sgd=optimizer)
    assert ner.labels == ("PERS", "LOC", "MISC", "ORG")
    assert ner.cfg["label_counts"]["LOC"] == 4
    assert ner.model.get_ref("output_layer").get_dim("nO") == 9
    assert math.isfinite(losses["rnn_ner"])


def test_get_loss_with_unknown_label_names_it():
    nlp = build_nlp()
    ner = nlp.get_pipe("rnn_ner")
    examples = make_examples(nlp)
    ner.initialize(lambda: examples, nlp=nlp, labels=["PERS"])
    scores = ner.model.predict([eg.predicted for eg in examples])
    with pytest.raises(ValueError, match="'LOC'"):
        ner.get_loss(examples, scores)


def test_add_label_after_initialize_grows_output_and_keeps_rows():
    nlp = build_nlp()
    nlp.initialize(lambda: make_examples(nlp))
    ner = nlp.get_pipe("rnn_ner")
    out = ner.model.get_ref("output_layer")
    assert not out.get_param("W").any()  # the output layer starts at zeros: learned rows stand in
    learned = numpy.random.default_rng(0).normal(size=out.get_param("W").shape).astype("f")
    out.set_param("W", learned)
    W_before = learned.copy()
    assert ner.add_label("DATE") == 1
    assert ner.add_label("LOC") == 0  # already present
    out = ner.model.get_ref("output_layer")
    assert ner.labels == LABELS + ("DATE",)
    assert out.get_dim("nO") == 1 + 2 * 5 == ner.model.get_dim("nO")
    numpy.testing.assert_array_equal(out.get_param("W")[:9], W_before)
    assert (out.get_param("W")[9:] == 0).all()
    doc = nlp("Тарас Шевченко народився в Моринцях .")
    assert nlp.get_pipe("rnn_ner").model.predict([doc]).scores.shape == (len(doc), 11)


def test_empty_labels_from_a_labels_file_are_named():
    nlp = build_nlp()
    ner = nlp.get_pipe("rnn_ner")
    with pytest.raises(ValueError, match=r"labels given to initialize are empty.*initialize\.components\.rnn_ner"):
        ner.initialize(lambda: make_examples(nlp), nlp=nlp, labels=[])


def test_hand_set_nO_that_does_not_fit_the_labels():
    seed_everything()
    nlp = spacy.blank("uk")
    nlp.add_pipe("rnn_ner", config={"model": dict(SMALL_MODEL, nO=5)})
    with pytest.raises(ValueError, match="nO is 5 but the labels .* need 9 tags.*nO = null"):
        nlp.initialize(lambda: make_examples(nlp))


def test_static_vectors_without_vectors_are_named():
    seed_everything()
    nlp = spacy.blank("uk")
    tok2vec = dict(SMALL_MODEL["tok2vec"], include_static_vectors=True)
    nlp.add_pipe("rnn_ner", config={"model": dict(SMALL_MODEL, tok2vec=tok2vec)})
    with pytest.raises(ValueError, match="include_static_vectors = true.*no vectors"):
        nlp.initialize(lambda: make_examples(nlp))


def no_entity_examples(nlp):
    examples = []
    for text in TEXTS:
        reference = nlp.make_doc(text)
        reference.ents = []  # annotated: every token is O
        examples.append(Example(nlp.make_doc(text), reference))
    assert all(t.ent_iob_ == "O" for eg in examples for t in eg.reference)
    return examples


def test_no_entities_in_data_raises():
    nlp = build_nlp()
    examples = no_entity_examples(nlp)
    with pytest.raises(ValueError, match="no entity labels"):
        nlp.initialize(lambda: examples)


def _check_trains_to_no_entities(nlp, examples):
    optimizer = nlp.create_optimizer()
    optimizer.learn_rate = 0.01
    for _ in range(15):
        losses = nlp.update(examples, sgd=optimizer)
        assert math.isfinite(losses["rnn_ner"])
    for text in TEXTS:
        assert nlp(text).ents == ()


def test_no_entities_with_add_label():
    nlp = build_nlp()
    examples = no_entity_examples(nlp)
    nlp.get_pipe("rnn_ner").add_label("PERS")
    nlp.initialize(lambda: examples)
    assert nlp.get_pipe("rnn_ner").labels == ("PERS",)
    _check_trains_to_no_entities(nlp, examples)


def test_no_entities_with_labels_argument():
    nlp = build_nlp()
    examples = no_entity_examples(nlp)
    ner = nlp.get_pipe("rnn_ner")
    ner.initialize(lambda: examples, nlp=nlp, labels=["PERS"])
    assert ner.labels == ("PERS",)
    assert ner.cfg["label_counts"] == {"PERS": 0}
    _check_trains_to_no_entities(nlp, examples)


def test_add_label_rejects_non_strings():
    ner = build_nlp().get_pipe("rnn_ner")
    for bad in ("", None, 3):
        with pytest.raises(ValueError):
            ner.add_label(bad)
    assert ner.add_label("PERS") == 1 and ner.add_label("PERS") == 0


def test_label_data_round_trip(trained_lstm, tmp_path):
    label_data = trained_lstm.get_pipe("rnn_ner").label_data
    assert tuple(label_data) == LABELS
    srsly.write_json(tmp_path / "rnn_ner.json", label_data)  # as `spacy init labels` does
    loaded = srsly.read_json(tmp_path / "rnn_ner.json")
    nlp = build_nlp()
    ner = nlp.get_pipe("rnn_ner")
    examples = make_examples(nlp, TRAIN_DATA[4:5])  # only ORG in the data
    ner.initialize(lambda: examples, nlp=nlp, labels=loaded)
    assert ner.labels == LABELS
    assert ner.tag_names == trained_lstm.get_pipe("rnn_ner").tag_names
    assert ner.model.get_ref("output_layer").get_dim("nO") == 1 + 2 * len(LABELS)


# entities set by an earlier component -----------------------------------------------


@pytest.fixture(scope="module")
def nlp_with_ruler():
    nlp = train_nlp("lstm")
    ruler = nlp.add_pipe("entity_ruler", before="rnn_ner")
    ruler.add_patterns(
        [
            {"label": "ORG", "pattern": "Шевченко"},  # overlaps the predicted PERS
            {"label": "MISC", "pattern": "народився"},  # overlaps nothing
        ]
    )
    return nlp


TEXT0 = TEXTS[0]  # Тарас Шевченко народився в Моринцях .


def test_existing_entities_kept_without_overwrite(nlp_with_ruler):
    ner = nlp_with_ruler.get_pipe("rnn_ner")
    assert ner.overwrite_ents is False
    doc = nlp_with_ruler(TEXT0)
    assert ents_of(doc) == [("Шевченко", "ORG"), ("народився", "MISC"), ("Моринцях", "LOC")]
    spans = [(s.text, s.label_) for s in doc.spans["rnn_ner"]]
    assert spans == [("Тарас Шевченко", "PERS"), ("Моринцях", "LOC")]


def test_existing_entities_replaced_with_overwrite(nlp_with_ruler):
    ner = nlp_with_ruler.get_pipe("rnn_ner")
    ner.overwrite_ents = True
    try:
        doc = nlp_with_ruler(TEXT0)
    finally:
        ner.overwrite_ents = False
    assert ents_of(doc) == [("Тарас Шевченко", "PERS"), ("народився", "MISC"), ("Моринцях", "LOC")]
    spans = [(s.text, s.label_) for s in doc.spans["rnn_ner"]]
    assert spans == [("Тарас Шевченко", "PERS"), ("Моринцях", "LOC")]


def test_config_override_at_load_is_applied(tmp_path):
    nlp = train_nlp("lstm", n_iter=2)
    nlp.to_disk(tmp_path / "model")
    overrides = {"components": {"rnn_ner": {"overwrite_ents": True, "spans_key": "other"}}}
    nlp2 = spacy.load(tmp_path / "model", config=overrides)
    assert nlp2.config["components"]["rnn_ner"]["overwrite_ents"] is True
    ner = nlp2.get_pipe("rnn_ner")
    assert ner.overwrite_ents is True
    assert ner.spans_key == "other"


def test_overwrite_ents_from_config():
    nlp = build_nlp(overwrite_ents=True)
    assert nlp.get_pipe("rnn_ner").overwrite_ents is True
    assert nlp.config["components"]["rnn_ner"]["overwrite_ents"] is True


# confidence scores ----------------------------------------------------------------------


def test_span_group_scores(trained_lstm):
    for doc in trained_lstm.pipe(TEXTS + UNUSUAL_TEXTS[:3]):
        group = doc.spans["rnn_ner"]
        assert [(s.start, s.end, s.label_) for s in group] == [
            (e.start, e.end, e.label_) for e in doc.ents
        ]
        scores = group.attrs["scores"]
        assert len(scores) == len(group)
        # the confidence of an entity is the mean probability of its chosen tags
        ner = trained_lstm.get_pipe("rnn_ner")
        prediction = ner.predict([doc])[0]
        for span, score in zip(group, scores):
            assert 0.0 < score <= 1.0
            assert score == pytest.approx(float(prediction.tag_probs[span.start : span.end].mean()), abs=1e-6)
            assert 0.0 < float(score) <= 1.0
    # the overfitted model is confident on its training data
    doc = trained_lstm(TEXT0)
    assert min(doc.spans["rnn_ner"].attrs["scores"]) > 0.5


def test_span_group_survives_serialization(trained_lstm):
    doc = trained_lstm(TEXT0)
    doc2 = Doc(trained_lstm.vocab).from_bytes(doc.to_bytes())
    assert [(s.text, s.label_) for s in doc2.spans["rnn_ner"]] == [
        (s.text, s.label_) for s in doc.spans["rnn_ner"]
    ]
    numpy.testing.assert_allclose(
        numpy.asarray(doc2.spans["rnn_ner"].attrs["scores"]), doc.spans["rnn_ner"].attrs["scores"]
    )


def test_spans_key_null_writes_no_group():
    nlp = train_nlp("lstm", n_iter=5, spans_key=None)
    doc = nlp(TEXT0)
    assert "rnn_ner" not in doc.spans
    assert len(doc.spans) == 0


def test_custom_spans_key():
    nlp = train_nlp("lstm", n_iter=5, spans_key="ner_scores")
    doc = nlp(TEXT0)
    assert list(doc.spans) == ["ner_scores"]


# label weighting ----------------------------------------------------------------------

COUNTS = {"A": 1, "B": 4, "C": 16, "D": 0}


def test_label_weights_none():
    assert label_weights("ABCD", COUNTS, "none") == {"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0}


def test_label_weights_inverse_frequency():
    # mean count over labels with entities: (1 + 4 + 16) / 3 = 7; D (0) takes A's count 1
    weights = label_weights("ABCD", COUNTS, "inverse_frequency")
    assert weights == pytest.approx({"A": 7.0, "B": 1.75, "C": 0.4375, "D": 7.0})


def test_label_weights_sqrt_inverse_frequency():
    weights = label_weights("ABCD", COUNTS, "sqrt_inverse_frequency")
    expected = {"A": 7.0 ** 0.5, "B": 1.75 ** 0.5, "C": 0.4375 ** 0.5, "D": 7.0 ** 0.5}
    assert weights == pytest.approx(expected)


def test_label_weights_explicit_multiplies():
    explicit = {"B": 2.0, "D": 0.5}
    assert label_weights("ABCD", COUNTS, "none", explicit) == pytest.approx(
        {"A": 1.0, "B": 2.0, "C": 1.0, "D": 0.5}
    )
    assert label_weights("ABCD", COUNTS, "inverse_frequency", explicit) == pytest.approx(
        {"A": 7.0, "B": 3.5, "C": 0.4375, "D": 3.5}
    )


def test_label_weights_no_counts_and_errors():
    assert label_weights(["X", "Y"], {}, "inverse_frequency") == {"X": 1.0, "Y": 1.0}
    with pytest.raises(ValueError, match="'bogus'"):
        label_weights("AB", COUNTS, "bogus")
    with pytest.raises(ValueError, match="'A'"):
        label_weights("AB", COUNTS, "none", {"A": -1.0})
    with pytest.raises(ValueError, match="'A'"):
        label_weights("AB", COUNTS, "none", {"A": float("nan")})


def test_component_tag_weights_layout():
    nlp = build_nlp(label_weighting="inverse_frequency", label_weights={"ORG": 2.0})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    ner = nlp.get_pipe("rnn_ner")
    assert ner.cfg["label_counts"] == {"LOC": 4, "MISC": 1, "ORG": 2, "PERS": 3}
    mean = 10 / 4
    loc, misc, org, pers = mean / 4, mean / 1, mean / 2 * 2.0, mean / 3
    expected = [1.0, loc, loc, misc, misc, org, org, pers, pers]
    numpy.testing.assert_allclose(ner._tag_weights(), expected, rtol=1e-6)
    assert ner.tag_names == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PERS", "I-PERS"]


def test_label_weights_unknown_label_raises():
    nlp = build_nlp(label_weights={"FOO": 2.0})
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match="FOO"):
        nlp.initialize(lambda: examples)


def test_inverse_frequency_training_overfits():
    nlp = train_nlp("lstm", n_iter=60, label_weighting="inverse_frequency")
    for text, ents in TRAIN_DATA:
        assert ents_of(nlp(text)) == gold_ents(text, ents)


# get_loss -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def initialized():
    nlp = build_nlp()
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    return nlp, examples


def gold_tag_ids(ner, example):
    """Gold BIO tag ids computed independently of the component."""
    doc = example.reference
    offsets = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    bio = []
    for tag in offsets_to_biluo_tags(doc, offsets):
        if tag == "O":
            bio.append("O")
        else:
            prefix, label = tag.split("-", 1)
            bio.append(("B-" if prefix in "BU" else "I-") + label)
    return numpy.asarray([ner.tag_names.index(tag) for tag in bio])


def tag_scores(examples, per_doc):
    """The model's output for these per-doc scores (one segment per doc)."""
    return TagScores(numpy.concatenate(per_doc), numpy.asarray([len(eg.predicted) for eg in examples if len(eg.predicted)]))


def per_doc(flat, examples):
    return numpy.split(flat, numpy.cumsum([len(eg.predicted) for eg in examples])[:-1])


def one_hot(ids, n_tags):
    scores = numpy.zeros((len(ids), n_tags), dtype="f")
    scores[numpy.arange(len(ids)), ids] = 1.0
    return scores


def test_get_loss_one_hot_truth_is_zero(initialized):
    nlp, examples = initialized
    ner = nlp.get_pipe("rnn_ner")
    n_tags = len(ner.tag_names)
    scores = [one_hot(gold_tag_ids(ner, eg), n_tags) for eg in examples]
    loss, d_scores = ner.get_loss(examples, tag_scores(examples, scores))
    d_scores = per_doc(d_scores, examples)
    assert abs(loss) < 1e-6
    assert [d.shape for d in d_scores] == [s.shape for s in scores]
    for d in d_scores:
        numpy.testing.assert_array_equal(d, numpy.zeros_like(d))


def test_get_loss_uniform_scores(initialized):
    nlp, examples = initialized
    ner = nlp.get_pipe("rnn_ner")
    n_tags = len(ner.tag_names)
    scores = [numpy.full((len(eg.predicted), n_tags), 1.0 / n_tags, dtype="f") for eg in examples]
    loss, d_scores = ner.get_loss(examples, tag_scores(examples, scores))
    d_scores = per_doc(d_scores, examples)
    n_tokens = sum(len(eg.predicted) for eg in examples)
    assert loss == pytest.approx(math.log(n_tags), rel=1e-4)  # averaged over tokens
    for eg, d in zip(examples, d_scores):
        expected = (numpy.full(d.shape, 1.0 / n_tags) - one_hot(gold_tag_ids(ner, eg), n_tags)) / n_tokens
        numpy.testing.assert_allclose(d, expected, atol=1e-7)


def test_get_loss_nan_raises(initialized):
    nlp, examples = initialized
    ner = nlp.get_pipe("rnn_ner")
    n_tags = len(ner.tag_names)
    scores = [numpy.full((len(eg.predicted), n_tags), 1.0 / n_tags, dtype="f") for eg in examples]
    scores[2][1, :] = numpy.nan
    with pytest.raises(ValueError, match="NaN"):
        ner.get_loss(examples, tag_scores(examples, scores))


def test_update_nan_scores_raises():
    nlp = build_nlp()
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    output_layer = nlp.get_pipe("rnn_ner").model.get_ref("output_layer")
    W = output_layer.get_param("W").copy()
    W[0, 0] = numpy.nan  # the scores of the first tag become NaN
    output_layer.set_param("W", W)
    with pytest.raises(ValueError, match="NaN scores"):
        nlp.update(examples, sgd=optimizer)


def test_get_loss_missing_annotation_has_zero_gradient(initialized):
    nlp, _ = initialized
    ner = nlp.get_pipe("rnn_ner")
    n_tags = len(ner.tag_names)
    text = "Тарас Шевченко народився в Моринцях ."
    # reference without any NER annotation (ent_iob 0 everywhere)
    unannotated = Example(nlp.make_doc(text), nlp.make_doc(text))
    assert all(t.ent_iob == 0 for t in unannotated.reference)
    # partly missing: "Шевченко" and "в" unknown
    partial = Example.from_dict(
        nlp.make_doc(text), {"entities": ["U-PERS", "-", "O", "-", "U-LOC", "O"]}
    )
    assert [t.ent_iob for t in partial.reference] == [3, 0, 2, 0, 3, 2]
    # misaligned: predicted token "ТарасШевченко" spans two reference entity tokens
    predicted = Doc(nlp.vocab, words=["ТарасШевченко", "народився"])
    reference = Doc(nlp.vocab, words=["Тарас", "Шевченко", "народився"], spaces=[False, True, False])
    reference.ents = [Span(reference, 0, 1, "PERS"), Span(reference, 1, 2, "LOC")]
    misaligned = Example(predicted, reference)

    examples = [unannotated, partial, misaligned]
    scores = [numpy.full((len(eg.predicted), n_tags), 1.0 / n_tags, dtype="f") for eg in examples]
    loss, d_scores = ner.get_loss(examples, tag_scores(examples, scores))
    d_scores = per_doc(d_scores, examples)
    numpy.testing.assert_array_equal(d_scores[0], 0.0)
    numpy.testing.assert_array_equal(d_scores[1][[1, 3]], 0.0)
    assert (numpy.abs(d_scores[1][[0, 2, 4, 5]]).sum(axis=1) > 0).all()
    numpy.testing.assert_array_equal(d_scores[2][0], 0.0)
    assert numpy.abs(d_scores[2][1]).sum() > 0
    # averaged over the 5 known tokens only
    assert loss == pytest.approx(math.log(n_tags), rel=1e-4)
    # a batch with no known token at all gives zero loss and gradient
    loss, d_scores = ner.get_loss([unannotated], tag_scores([unannotated], scores[:1]))
    assert loss == 0.0
    numpy.testing.assert_array_equal(d_scores, 0.0)


def test_update_on_unannotated_example_gives_zero_gradients(initialized):
    nlp, _ = initialized
    text = TEXT0
    unannotated = Example(nlp.make_doc(text), nlp.make_doc(text))
    model = nlp.get_pipe("rnn_ner").model
    torch_params = [p for node in model.walk() if node.shims for p in torch_module(node).parameters()]
    for p in torch_params:
        p.grad = None
    losses = nlp.update([unannotated], sgd=None)  # gradients kept, to look at them
    assert losses["rnn_ner"] == 0.0
    grads = [node.get_grad(name) for node in model.walk() for name in node.param_names if node.has_grad(name)]
    grads += [p.grad.numpy() for p in torch_params if p.grad is not None]
    assert grads  # backprop ran
    for grad in grads:
        numpy.testing.assert_array_equal(grad, 0.0)


def test_update_with_empty_docs_only():
    nlp = build_nlp()
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    empty = Example(nlp.make_doc(""), nlp.make_doc(""))
    losses = nlp.update([empty, empty], sgd=optimizer)
    assert losses["rnn_ner"] == 0.0
    losses = nlp.update([empty, examples[0], empty], sgd=optimizer)
    assert losses["rnn_ner"] > 0.0


# scorer ---------------------------------------------------------------------------------


def test_evaluate_macro_f_is_mean_of_per_type(trained_lstm):
    # change two gold labels so the per-type scores differ
    data = [
        (text, [(s, e, "LOC" if label == "ORG" else label) for s, e, label in ents])
        for text, ents in TRAIN_DATA
    ]
    examples = make_examples(trained_lstm, data)
    scores = trained_lstm.evaluate(examples)
    for key in ("ents_p", "ents_r", "ents_f", "ents_per_type", "ents_macro_f", "ents_macro_p", "ents_macro_r"):
        assert key in scores
    per_type = scores["ents_per_type"]
    assert set(per_type) == {"LOC", "MISC", "ORG", "PERS"}
    assert per_type["PERS"]["f"] == pytest.approx(1.0)
    assert per_type["ORG"]["f"] == pytest.approx(0.0)
    for key in "prf":
        mean = sum(t[key] for t in per_type.values()) / len(per_type)
        assert scores[f"ents_macro_{key}"] == pytest.approx(mean)
    assert scores["ents_macro_f"] != pytest.approx(scores["ents_f"])


def test_score_ents_hand_made():
    nlp = spacy.blank("uk")
    words = ["Київ", "і", "Львів", "та", "Тарас", "і", "Рада"]
    predicted = Doc(nlp.vocab, words=words)
    predicted.ents = [Span(predicted, 0, 1, "LOC"), Span(predicted, 4, 5, "PERS"), Span(predicted, 6, 7, "ORG")]
    reference = Doc(nlp.vocab, words=words)
    reference.ents = [Span(reference, 0, 1, "LOC"), Span(reference, 2, 3, "LOC"), Span(reference, 4, 5, "PERS")]
    scores = score_ents([Example(predicted, reference)])
    assert scores["ents_per_type"]["LOC"] == pytest.approx({"p": 1.0, "r": 0.5, "f": 2 / 3})
    assert scores["ents_per_type"]["PERS"] == pytest.approx({"p": 1.0, "r": 1.0, "f": 1.0})
    assert scores["ents_per_type"]["ORG"]["f"] == pytest.approx(0.0)
    assert scores["ents_f"] == pytest.approx(2 / 3)
    assert scores["ents_macro_f"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert scores["ents_macro_p"] == pytest.approx((1 + 1 + 0) / 3)
    assert scores["ents_macro_r"] == pytest.approx((0.5 + 1 + 0) / 3)


def test_scorer_registered_in_config(trained_lstm):
    assert trained_lstm.config["components"]["rnn_ner"]["scorer"] == {"@scorers": "spacy_rnn_ner.ner_scorer.v1"}


# decoding constraints: whitespace and sentence boundaries ----------------------------


@pytest.fixture(scope="module")
def pers_ner():
    nlp = spacy.blank("uk")
    ner = nlp.add_pipe("rnn_ner", config={"model": {"hidden_width": 8}})
    ner.add_label("PERS")
    return nlp, ner  # tags: O, B-PERS, I-PERS


O, B, I = 0, 1, 2


def probs_for(rows):
    return numpy.asarray(rows, dtype="f")


def decode(ner, docs, probs):
    """The component's decoding of these per-doc probabilities, segmented as the model does."""
    return ner._decode(docs, TagScores(numpy.concatenate(probs), segment_lengths(docs, True)))


def test_decode_never_puts_inside_tag_at_sentence_start(pers_ner):
    nlp, ner = pers_ner
    words = ["Тарас", "Шевченко", "народився"]
    probs = probs_for([[0.05, 0.9, 0.05], [0.04, 0.06, 0.9], [0.9, 0.05, 0.05]])
    no_sents = Doc(nlp.vocab, words=words)
    (pred,) = decode(ner, [no_sents], [probs])
    assert pred.tag_ids.tolist() == [B, I, O]  # control: without sentences, one entity
    numpy.testing.assert_allclose(pred.tag_probs, [0.9, 0.9, 0.9])

    split = Doc(nlp.vocab, words=words, sent_starts=[True, True, False])
    (pred,) = decode(ner, [split], [probs])
    assert pred.tag_ids[1] != I
    assert pred.tag_ids.tolist() == [B, B, O]
    numpy.testing.assert_allclose(pred.tag_probs, [0.9, 0.06, 0.9])
    # batched with an unsplit doc: constraints stay per doc
    preds = decode(ner, [no_sents, split], [probs, probs])
    assert [p.tag_ids.tolist() for p in preds] == [[B, I, O], [B, B, O]]


def test_decode_whitespace_tokens_are_outside(pers_ner):
    nlp, ner = pers_ner
    doc = Doc(nlp.vocab, words=["Тарас", "\n", "Шевченко", " "], spaces=[False, False, False, False])
    assert [t.is_space for t in doc] == [False, True, False, True]
    probs = probs_for([[0.05, 0.9, 0.05], [0.01, 0.01, 0.98], [0.01, 0.01, 0.98], [0.01, 0.98, 0.01]])
    (pred,) = decode(ner, [doc], [probs])
    assert pred.tag_ids[1] == O and pred.tag_ids[3] == O
    assert pred.tag_ids[2] != I  # cannot continue across the whitespace token
    assert pred.tag_ids.tolist()[0] == B


def test_set_annotations_from_decoded_paths(pers_ner):
    nlp, ner = pers_ner
    doc = Doc(nlp.vocab, words=["a", "b", "c", "d"], sent_starts=[True, False, True, False])
    probs = probs_for([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.1, 0.15, 0.75], [0.8, 0.1, 0.1]])
    ner.set_annotations([doc], decode(ner, [doc], [probs]))
    assert [(e.start, e.end) for e in doc.ents] == [(0, 2), (2, 3)]
    for ent in doc.ents:
        assert ent.sent.start <= ent.start and ent.end <= ent.sent.end


def test_trained_entities_do_not_cross_sentence_boundary(trained_lstm):
    words = ["Вчора", "Тарас", "Шевченко", "народився", "в", "Моринцях", "."]
    plain = trained_lstm(Doc(trained_lstm.vocab, words=words))
    assert ("Тарас Шевченко", "PERS") in ents_of(plain)  # would be one entity
    sent_starts = [True, False, True, False, False, False, False]  # boundary inside the name
    doc = trained_lstm(Doc(trained_lstm.vocab, words=words, sent_starts=sent_starts))
    assert doc.has_annotation("SENT_START")
    for ent in list(doc.ents) + list(doc.spans["rnn_ner"]):
        assert not (ent.start < 2 < ent.end), ent
        assert ent.sent == doc[ent.start].sent
    assert ("Тарас Шевченко", "PERS") not in ents_of(doc)


def test_trained_entities_never_contain_whitespace(trained_lstm):
    texts = ["Тарас  Шевченко народився .", "Тарас\nШевченко", "Олена \n\n Пчілка працювала в Академії \t наук ."]
    for doc in trained_lstm.pipe(texts):
        assert any(t.is_space for t in doc)
        assert_valid_spans(doc)
        for span in doc.spans["rnn_ner"]:
            assert not any(t.is_space for t in span)


def test_component_class_is_exported():
    assert isinstance(build_nlp().get_pipe("rnn_ner"), RNNEntityRecognizer)


@pytest.mark.parametrize("sentence_level", [True, False])
def test_model_gives_the_segments_it_ran_over(sentence_level):
    """The decoder's segments are the model's (sentences, or whole docs with
    sentence_level = false), computed once in the model's forward."""
    nlp = spacy.blank("uk")
    ner = nlp.add_pipe("rnn_ner", config={"model": dict(SMALL_MODEL, sentence_level=sentence_level)})
    nlp.initialize(lambda: make_examples(nlp))
    words = ["Тарас", "Шевченко", "народився", "Київ", "."]
    docs = [Doc(nlp.vocab, words=words, sent_starts=[True, False, True, False, False]), Doc(nlp.vocab, words=[])]
    scores = ner.model.predict(docs)
    assert scores.scores.shape == (5, len(ner.tag_names))
    assert scores.lengths.tolist() == ([2, 3] if sentence_level else [5])


@pytest.mark.parametrize("saved,loaded", [(True, False), (False, True)])
def test_sentence_level_given_at_load_time_applies(tmp_path, saved, loaded):
    """spacy.load(path, config=...) with another sentence_level: the model runs (and
    decodes) over the segments the override asks for, not the saved setting; without an
    override the saved config's value holds."""
    nlp = spacy.blank("uk")
    nlp.add_pipe("rnn_ner", config={"model": dict(SMALL_MODEL, sentence_level=saved)})
    nlp.initialize(lambda: make_examples(nlp))
    nlp.to_disk(tmp_path / "model")
    words = ["Тарас", "Шевченко", "народився", "Київ", "."]
    override = {"components": {"rnn_ner": {"model": {"sentence_level": loaded}}}}
    for config, expected in (({}, saved), (override, loaded)):
        reloaded = spacy.load(tmp_path / "model", config=config)
        ner = reloaded.get_pipe("rnn_ner")
        assert ner.model.attrs["sentence_level"] is expected
        assert reloaded.config["components"]["rnn_ner"]["model"]["sentence_level"] is expected
        doc = Doc(reloaded.vocab, words=words, sent_starts=[True, False, True, False, False])
        assert ner.model.predict([doc]).lengths.tolist() == ([2, 3] if expected else [5])
        ner.from_bytes(ner.to_bytes())  # also through bytes
        assert ner.model.attrs["sentence_level"] is expected
