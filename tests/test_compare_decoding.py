"""compare-decoding scores Viterbi and greedy decoding of the same model."""
from spacy.tokens import DocBin

from conftest import TRAIN_DATA, make_examples
from spacy_rnn_ner.__main__ import main
from spacy_rnn_ner.report.decoding import compare_decoding


def test_compare_decoding(trained_lstm, tmp_path, capsys):
    trained_lstm.to_disk(tmp_path / "model")
    DocBin(docs=[eg.reference for eg in make_examples(trained_lstm)]).to_disk(tmp_path / "gold.spacy")
    results = compare_decoding(tmp_path / "model", tmp_path / "gold.spacy")
    assert set(results) == {"viterbi", "greedy"}
    # the overfitted model is perfect on its training data with the constrained decoder
    assert results["viterbi"]["ents_f"] == 1.0
    assert set(results["viterbi"]["ents_per_type"]) == {"LOC", "MISC", "ORG", "PERS"}
    assert results["greedy"]["ents_f"] == 1.0
    assert main(["compare-decoding", "--model", str(tmp_path / "model"), "--data",
                 str(tmp_path / "gold.spacy"), "--output", str(tmp_path / "d.json")]) == 0
    assert "viterbi" in capsys.readouterr().out and (tmp_path / "d.json").exists()
    assert main(["compare-decoding", "--model", str(tmp_path / "nope"), "--data", "x"]) == 1


def test_greedy_is_per_token_argmax_and_viterbi_the_pipeline(tmp_path):
    """On an imperfect model (the legacy fixture), greedy scores equal the spans read
    from each token's most probable tag, and Viterbi scores equal the pipeline's."""
    from pathlib import Path

    import numpy
    import spacy
    from spacy.training import Example

    from spacy_rnn_ner.bio import tag_ids_to_spans
    from spacy_rnn_ner.scorer import score_ents

    model = Path(__file__).parent / "data" / "legacy_v1" / "model"
    nlp = spacy.load(model)
    gold = [eg.reference for eg in make_examples(nlp)]
    DocBin(docs=gold).to_disk(tmp_path / "gold.spacy")
    results = compare_decoding(model, tmp_path / "gold.spacy")
    ner = nlp.get_pipe("rnn_ner")
    greedy_docs = []
    for doc in nlp.pipe([g.text for g in gold], disable=["rnn_ner"]):
        tags = numpy.asarray(ner.model.predict([doc])[0]).argmax(axis=1)
        doc.ents = [spacy.tokens.Span(doc, s, e, label=label) for s, e, label in tag_ids_to_spans(tags, ner.labels)]
        greedy_docs.append(doc)
    expected_greedy = score_ents([Example(p, g) for p, g in zip(greedy_docs, gold)])
    expected_viterbi = score_ents([Example(p, g) for p, g in zip(nlp.pipe([g.text for g in gold]), gold)])
    assert results["greedy"]["ents_f"] == expected_greedy["ents_f"] < 1.0
    assert results["viterbi"]["ents_f"] == expected_viterbi["ents_f"] < 1.0


def test_greedy_reads_the_crf_marginals_not_its_emission_scores(tmp_path):
    """With a CRF output the greedy comparison uses the CRF's marginals: transitions
    that forbid every entity tag in practice leave greedy with no entity, where the
    argmax of the emission scores (what greedy read before) finds several."""
    from pathlib import Path

    import numpy
    import spacy

    from spacy_rnn_ner.bio import tag_ids_to_spans
    from spacy_rnn_ner.report.decoding import greedy_decode

    nlp = spacy.load(Path(__file__).parent / "data" / "legacy_v2" / "model")
    ner = nlp.get_pipe("rnn_ner")
    crf = ner.model.get_ref("crf")
    for name in ("start", "transitions"):
        value = crf.get_param(name).copy()
        value[..., 1:] -= 100.0  # entering an entity tag costs 100
        crf.set_param(name, value)
    docs = list(nlp.pipe([text for text, _ in TRAIN_DATA], disable=["rnn_ner"]))
    emission_ents = sum(
        len(tag_ids_to_spans(numpy.asarray(ner.model.predict([doc]).scores).argmax(axis=1), ner.labels))
        for doc in docs
    )
    assert emission_ents >= 3
    predictions = greedy_decode(ner, docs)
    assert all((p.tag_ids == 0).all() for p in predictions)
    assert all(((p.tag_probs > 0.99) & (p.tag_probs <= 1.0 + 1e-6)).all() for p in predictions)
    nlp.to_disk(tmp_path / "model")
    DocBin(docs=[eg.reference for eg in make_examples(nlp)]).to_disk(tmp_path / "gold.spacy")
    results = compare_decoding(tmp_path / "model", tmp_path / "gold.spacy")
    assert results["greedy"]["ents_p"] == 0.0 and results["greedy"]["ents_r"] == 0.0
