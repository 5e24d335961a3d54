"""spacy_rnn_ner.Corpus.v1 cuts long texts instead of dropping them."""
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span

from spacy_rnn_ner.corpus import create_corpus_reader, split_points


def test_split_points_avoid_entities():
    inside = [False] * 301
    for i in range(97, 103):  # an entity over tokens 96..102: cuts at 97..102 split it
        inside[i] = True
    cuts = split_points(300, 100, inside)
    assert cuts[0] == 96
    pieces = [b - a for a, b in zip([0] + cuts, cuts + [300])]
    assert all(0 < n < 100 for n in pieces) and sum(pieces) == 300


def _docbin(tmp_path, nlp):
    long_no_sents = Doc(nlp.vocab, words=[f"w{i}" for i in range(250)])
    long_no_sents.ents = [Span(long_no_sents, 97, 101, "PERS"), Span(long_no_sents, 200, 201, "LOC")]
    short = Doc(nlp.vocab, words=["Київ", "."])
    short.ents = [Span(short, 0, 1, "LOC")]
    with_sents = Doc(nlp.vocab, words=[f"s{i}" for i in range(130)], sent_starts=[i in (0, 10) for i in range(130)])
    with_sents.ents = [Span(with_sents, 3, 4, "ORG"), Span(with_sents, 120, 122, "MISC")]
    path = tmp_path / "train.spacy"
    DocBin(docs=[long_no_sents, short, with_sents]).to_disk(path)
    return path


def test_spacy_corpus_drops_what_ours_keeps(tmp_path):
    nlp = spacy.blank("uk")
    path = _docbin(tmp_path, nlp)
    spacy_reader = spacy.util.registry.readers.get("spacy.Corpus.v1")(path, gold_preproc=False, max_length=100)
    spacy_ents = sum(len(eg.reference.ents) for eg in spacy_reader(nlp))
    assert spacy_ents == 2  # the 250-token doc and the 120-token sentence are gone
    reader = create_corpus_reader(path, max_length=100)
    with pytest.warns(UserWarning, match=r"2 text\(s\).*cut into 5 pieces.*corpora\.train\.max_length"):
        examples = list(reader(nlp))
    assert all(len(eg.reference) < 100 for eg in examples)
    ents = sorted((e.text, e.label_) for eg in examples for e in eg.reference.ents)
    assert ents == sorted([("w97 w98 w99 w100", "PERS"), ("w200", "LOC"), ("Київ", "LOC"), ("s3", "ORG"), ("s120 s121", "MISC")])
    assert sum(len(eg.reference) for eg in examples) == 250 + 2 + 130


def test_reader_resolves_from_config(tmp_path):
    nlp = spacy.blank("uk")
    path = _docbin(tmp_path, nlp)
    config = {"corpus": {"@readers": "spacy_rnn_ner.Corpus.v1", "path": str(path), "max_length": 0}}
    reader = spacy.util.registry.resolve(config)["corpus"]
    assert len(list(reader(nlp))) == 3
