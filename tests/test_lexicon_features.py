"""LexiconFeatures.v1: gazetteer and grammeme features, saved with the model."""
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc

from spacy_rnn_ner.architectures import build_lexicon_features
from spacy_rnn_ner.layers.lexicon_features import read_word_list

LEXICON_DIR = Path(__file__).parent / "data" / "lexicon"
GAZETTEERS = {"GEO": ["geo.txt"], "NAME": ["names.txt"], "ABBR": ["abbr.txt"]}


def make_doc(words):
    return Doc(spacy.blank("uk").vocab, words=words)


def test_read_word_list_skips_comments_and_tags():
    assert read_word_list(LEXICON_DIR / "names.txt") == ["тарас", "олена", "сергій", "шевченко"]
    assert read_word_list(LEXICON_DIR / "abbr.txt") == ["оон"]


def test_gazetteer_features_without_morphology():
    layer = build_lexicon_features(GAZETTEERS, directory=str(LEXICON_DIR))
    layer.initialize()
    assert layer.get_dim("nO") == 3
    [Y, Y_empty] = layer.predict([make_doc(["Тарас", "у", "КИЄВІ", "Київ", "ООН"]), make_doc([])])
    numpy.testing.assert_array_equal(Y, [[0, 1, 0], [0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1]])
    assert Y_empty.shape == (0, 3)


def test_morphology_matches_inflected_forms_and_grammemes():
    pytest.importorskip("pymorphy3")
    layer = build_lexicon_features(GAZETTEERS, directory=str(LEXICON_DIR),
                                   grammemes=["Surn", "Name"], morphology="pymorphy3")
    layer.initialize()
    assert layer.attrs["feature_names"] == ["GEO", "NAME", "ABBR", "tag:Surn", "tag:Name"]
    [Y] = layer.predict([make_doc(["Шевченка", "Львові", "стіл"])])
    assert Y[0, 1] == 1 and Y[0, 3] == 1  # inflected surname: NAME via lemma, Surn tag
    assert Y[1, 0] == 1  # "Львові" -> lemma "львів" is in GEO
    assert not Y[2].any()


def test_word_lists_travel_with_the_model():
    layer = build_lexicon_features(GAZETTEERS, directory=str(LEXICON_DIR))
    layer.initialize()
    doc = make_doc(["Київ", "Олена", "стіл"])
    expected = layer.predict([doc])[0]
    fresh = build_lexicon_features(GAZETTEERS, directory="/nonexistent")
    fresh.from_bytes(layer.to_bytes())
    numpy.testing.assert_array_equal(fresh.predict([doc])[0], expected)


def test_a_misspelt_grammeme_is_a_config_error():
    """Probe 3 (tr16): spacy train took 'Nmae' and trained a feature that never fires
    (lexicon-coverage --grammemes refused the same name)."""
    pytest.importorskip("pymorphy3")
    from confection import ConfigValidationError

    with pytest.raises(ConfigValidationError) as caught:
        build_lexicon_features(GAZETTEERS, grammemes=["Name", "Nmae"], morphology="pymorphy3")
    assert caught.value.title == ("spacy_rnn_ner.LexiconFeatures.v1: 'grammemes': pymorphy3 knows no grammeme "
                                  "Nmae for uk (e.g. Name, Surn, Patr, Geox, Abbr): the feature could never fire")
    build_lexicon_features(GAZETTEERS, grammemes=["Name", "Surn"], morphology="pymorphy3")


def test_clear_errors():
    from confection import ConfigValidationError

    layer = build_lexicon_features({"GEO": ["missing.lst"]}, directory=str(LEXICON_DIR))
    with pytest.raises(ConfigValidationError, match="missing.lst: word list of gazetteer 'GEO' not found"):
        layer.initialize()  # a config error: spacy train prints it without a traceback
    with pytest.raises(ValueError, match="grammemes"):
        build_lexicon_features(GAZETTEERS, grammemes=["Name"], morphology="none")
    with pytest.raises(ValueError, match="morphology.*'none', 'pymorphy3'"):
        build_lexicon_features(GAZETTEERS, morphology="stanza")
    uninitialized = build_lexicon_features(GAZETTEERS, directory=str(LEXICON_DIR))
    with pytest.raises(ValueError, match="not initialized"):
        uninitialized.predict([make_doc(["a"])])


def test_several_extra_feature_layers_through_concatenate():
    """TokenFeatures.v1 takes several extra feature layers joined by thinc's concatenate.v1."""
    import spacy
    from pathlib import Path

    directory = str(Path(__file__).parent / "data" / "lexicon")
    config = {
        "model": {
            "@architectures": "spacy_rnn_ner.TokenFeatures.v1", "width": 8, "rows": [50, 20, 20, 10],
            "extra_features": {
                "@layers": "concatenate.v1",
                "*": {
                    "a": {"@architectures": "spacy_rnn_ner.LexiconFeatures.v1", "directory": directory,
                          "gazetteers": {"GEO": ["geo.txt"]}},
                    "b": {"@architectures": "spacy_rnn_ner.LexiconFeatures.v1", "directory": directory,
                          "gazetteers": {"NAME": ["names.txt"], "ABBR": ["abbr.txt"]}},
                },
            },
        }
    }
    model = spacy.util.registry.resolve(config)["model"]
    assert model.get_dim("nO") == 8 + 1 + 2
    nlp = spacy.blank("uk")
    docs = [nlp.make_doc("Київ і Тарас")]
    model.initialize(X=docs)
    out = model.predict(docs)[0]
    assert out.shape == (3, 11)
    assert out[:, 8:].tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]


def test_word_lookup_is_bounded_and_thread_safe(monkeypatch):
    from test_layers import run_threads

    from spacy_rnn_ner.layers import lexicon_features
    from spacy_rnn_ner.layers.lexicon_features import WordLookup

    layer = build_lexicon_features(GAZETTEERS, directory=str(LEXICON_DIR))
    layer.initialize()
    lookup = WordLookup(layer, max_words=10)
    words = ["Тарас", "Київ", "ООН", "стіл"] + [f"слово{i}" for i in range(100)]
    expected = dict(zip(words, WordLookup(layer, max_words=1000)(words)))

    def work(i):
        for _ in range(20):
            for word in words[i::3]:
                assert lookup([word, "Київ"]) == [expected[word], expected["Київ"]]

    assert run_threads(work) == []
    assert len(lookup.cache) <= 10
    # the layer's own lookup (built at the first predict) is bounded the same way
    monkeypatch.setattr(lexicon_features, "LOOKUP_CACHE_WORDS", 7)
    [Y] = layer.predict([make_doc(words)])
    assert Y[:3].any(axis=1).all() and len(layer.attrs["_lookup"].value.cache) == 7
