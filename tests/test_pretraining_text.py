"""The pretraining text filter drops raw files that overlap TEST documents."""
from pathlib import Path

from spacy_rnn_ner.__main__ import main
from spacy_rnn_ner.resources.pretraining_text import shingles
from spacy_rnn_ner.resources.text_sources import build_pretraining_text_from_sources

TEST_TEXT = "Тарас Шевченко народився в селі Моринці на Київщині у родині кріпака . " * 2


def make_ner_uk(root: Path) -> Path:
    data = root / "v1.0" / "data"
    data.mkdir(parents=True)
    (root / "v1.0" / "dev-test-split.txt").write_text("DEV\ntrain_doc.tok\n\nTEST\ntest_doc.tok\n", encoding="utf8")
    (data / "test_doc.tok.txt").write_text(TEST_TEXT, encoding="utf8")
    (data / "train_doc.tok.txt").write_text("Київ .", encoding="utf8")
    return root


def test_shingles():
    assert shingles("a b c".split(), size=2) == {("a", "b"), ("b", "c")}
    assert shingles("a b".split(), size=3) == set()


def test_filter_drops_overlapping_files(tmp_path):
    ner_uk = make_ner_uk(tmp_path / "ner-uk")
    raw = tmp_path / "raw"
    (raw / "good").mkdir(parents=True)
    (raw / "good" / "copy.txt").write_text("Передмова .\n" + TEST_TEXT, encoding="utf8")
    (raw / "good" / "other.txt").write_text("Зовсім інший текст про Львів .\n\nІ ще рядок .", encoding="utf8")
    out = tmp_path / "out" / "text.txt"
    report = build_pretraining_text_from_sources(["brown-uk"], ner_uk, out, raw)["brown-uk"]
    assert (report.docs_kept, report.docs_dropped) == (1, 1)
    assert report.dropped == [str(raw / "good" / "copy.txt")]
    lines = out.read_text(encoding="utf8").splitlines()
    assert lines == ["Зовсім інший текст про Львів .", "І ще рядок ."]
    assert report.tokens_kept == 10


def test_filter_keeps_small_overlaps(tmp_path):
    ner_uk = make_ner_uk(tmp_path / "ner-uk")
    raw = tmp_path / "raw"
    raw.mkdir()
    # 9 tokens of the test text: 2 shared shingles, under the threshold of 5
    (raw / "quote.txt").write_text("Тарас Шевченко народився в селі Моринці на Київщині у", encoding="utf8")
    report = build_pretraining_text_from_sources(["brown-uk"], ner_uk, tmp_path / "t.txt", raw)["brown-uk"]
    assert (report.docs_kept, report.docs_dropped) == (1, 0)


def test_pretrain_text_command(tmp_path, capsys):
    ner_uk = make_ner_uk(tmp_path / "ner-uk")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "copy.txt").write_text(TEST_TEXT, encoding="utf8")
    (raw / "other.txt").write_text("Зовсім інший текст .", encoding="utf8")
    out = tmp_path / "out.txt"
    assert main(["pretrain-text", str(raw), str(ner_uk), str(out), "--lang", "uk"]) == 0
    printed = capsys.readouterr().out
    assert "| brown-uk | 2 | 1 |" in printed and "dropped (brown-uk: " in printed and "copy.txt" in printed
    assert out.read_text(encoding="utf8") == "Зовсім інший текст .\n"
    missing = tmp_path / "nope"
    assert main(["pretrain-text", str(missing), str(ner_uk), str(out)]) == 1
    assert capsys.readouterr().err == f"error: {missing}: no such file or folder\n"
