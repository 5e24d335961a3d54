"""lexicon-coverage: per-label precision and recall of word-list features."""
import spacy
from spacy.tokens import Doc, DocBin, Span

from spacy_rnn_ner.__main__ import main as cli_main
from spacy_rnn_ner.resources.lexicon_coverage import coverage, format_coverage


def make_docs(nlp):
    doc = Doc(nlp.vocab, words=["Олена", "їде", "до", "Львова", ",", "Олена", "—", "село"])
    doc.ents = [Span(doc, 0, 1, "PERS"), Span(doc, 3, 4, "LOC"), Span(doc, 5, 6, "LOC")]
    return [doc]


def test_coverage_counts_labels_of_firing_tokens(tmp_path, capsys):
    nlp = spacy.blank("uk")
    lists = tmp_path / "lists"  # no output inside it: the command reads it
    lists.mkdir()
    names = lists / "first_names.txt"
    names.write_text("олена\n", encoding="utf8")
    geo = lists / "geo.txt"
    geo.write_text("львова\nолена\nсело\n", encoding="utf8")
    feature_names, per_label, fired = coverage(make_docs(nlp), {"names": [str(names)], "geo": [str(geo)]},
                                               morphology="none")
    assert feature_names == ["names", "geo"]
    assert per_label == {"PERS": 1, "LOC": 2, "O": 5}
    assert fired["names"] == {"PERS": 1, "LOC": 1}
    assert fired["geo"] == {"PERS": 1, "LOC": 2, "O": 1}
    table = format_coverage(feature_names, per_label, fired)
    # geo: fires 4; P LOC 50, P PERS 25, P O 25; R LOC 100, R PERS 100, R O 20
    assert "| geo | 4 | 50.0 | 25.0 | 25.0 | 100.0 | 100.0 | 20.0 |" in table
    data = tmp_path / "d.spacy"
    DocBin(docs=make_docs(nlp)).to_disk(data)
    out = tmp_path / "m" / "cov.md"
    assert cli_main(["lexicon-coverage", str(data), str(lists), "--morphology", "none", "--output", str(out)]) == 0
    assert "| first_names | 2 |" in out.read_text(encoding="utf8")
    assert cli_main(["lexicon-coverage", str(data), str(tmp_path / "absent.txt")]) == 1
    assert "word list not found" in capsys.readouterr().err
