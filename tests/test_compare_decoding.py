"""compare-decoding scores Viterbi and greedy decoding of the same model."""
from spacy.tokens import DocBin

from conftest import make_examples
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
    assert 0.0 <= results["greedy"]["ents_f"] <= 1.0
    assert main(["compare-decoding", "--model", str(tmp_path / "model"), "--data",
                 str(tmp_path / "gold.spacy"), "--output", str(tmp_path / "d.json")]) == 0
    assert "viterbi" in capsys.readouterr().out and (tmp_path / "d.json").exists()
    assert main(["compare-decoding", "--model", str(tmp_path / "nope"), "--data", "x"]) == 1
