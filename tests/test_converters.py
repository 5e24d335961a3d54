"""Converters to spaCy DocBin: ner-uk brat (tok/raw), CoNLL, Hugging Face, NeMo, CLI."""
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import spacy

from spacy_rnn_ner.converters.brat import (
    brat_raw_to_doc,
    brat_tok_to_doc,
    make_raw_nlp,
    read_split_file,
    split_dev,
)
from spacy_rnn_ner.converters.ner_uk import convert_ner_uk, load_ner_uk
from spacy_rnn_ner.__main__ import main as rnn_ner_main
from spacy_rnn_ner.converters.conll import doc_to_sentences, read_conll, sentences_to_doc
from spacy_rnn_ner.converters.hf import convert_hf, hf_to_docs, load_hf, parse_split_map
from spacy_rnn_ner.converters.nemo import convert_to_nemo, read_nemo, write_nemo
from spacy_rnn_ner.converters.report import ConversionError, ConversionReport, write_docbin
from spacy_rnn_ner.io import read_docbin

REPO = Path(__file__).resolve().parents[1]


def main(argv: List[str]) -> int:
    """``python -m spacy_rnn_ner convert ARGV...`` in this process; the exit status."""
    return rnn_ner_main(["convert", *argv])

from conftest import NER_UK_DIR  # noqa: E402  (the one place of the data location)

SPECIAL = "Doc (draft) [v2] O'Neil"  # spaces, brackets, apostrophe
SPECIAL_TEXT = "Тарас Шевченко народився в Києві .\n\nВін писав вірші .\n"


def ents(doc) -> List[Tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents]


def span(text: str, surface: str, occurrence: int = 0) -> Tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    return start, start + len(surface)


def t_line(n: int, label: str, text: str, surface: str) -> str:
    s, e = span(text, surface)
    return f"T{n}\t{label} {s} {e}\t{surface}"


def special_ann() -> List[str]:
    text = SPECIAL_TEXT
    s, e = span(text, "Києві")
    return [
        t_line(1, "PERS", text, "Тарас Шевченко"),
        t_line(2, "LOC", text, "Києві"),
        t_line(3, "PERS", text, "Тарас"),  # nested in T1: dropped
        f"T4\tLOC {s + 2} {e}\tєві",  # not on token boundaries: dropped
        "#1\tAnnotatorNotes T1\tпоет",  # ignored
        "R1\tRel Arg1:T1 Arg2:T2",  # ignored
    ]


def write_corpus(root: Path, n_dev: int = 10, n_test: int = 3,
                 extra_ann: Optional[Dict[str, List[str]]] = None) -> Path:
    """A tiny ner-uk-like corpus: ``root/v1.0/{data/,dev-test-split.txt}``."""
    data = root / "v1.0" / "data"
    data.mkdir(parents=True)
    docs: Dict[str, Tuple[str, List[str]]] = {SPECIAL: (SPECIAL_TEXT, special_ann())}
    for k in range(n_dev + n_test - 1):
        text = f"Іван{k} живе у Львові .\nВін працює в ООН .\n"
        docs[f"doc_{k:02d}"] = (text, [t_line(1, "PERS", text, f"Іван{k}"),
                                       t_line(2, "LOC", text, "Львові"),
                                       t_line(3, "ORG", text, "ООН")])
    for name, (text, ann) in docs.items():
        ann = ann + (extra_ann or {}).get(name, [])
        (data / f"{name}.tok.txt").write_text(text, encoding="utf-8")
        (data / f"{name}.tok.ann").write_text("\n".join(ann) + "\n", encoding="utf-8")
    names = list(docs)
    split = ["DEV"] + [n + ".tok" for n in names[:n_dev]] + ["", "TEST"] \
        + [n + ".tok" for n in names[n_dev:]]
    (root / "v1.0" / "dev-test-split.txt").write_text("\n".join(split) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "ner-uk")


@pytest.fixture
def vocab():
    return spacy.blank("uk").vocab


# -- brat, tokenized variant ---------------------------------------------------------

def test_brat_tok_doc_tokens_sentences_and_policies(corpus: Path, vocab):
    data = corpus / "v1.0" / "data"
    report = ConversionReport()
    doc = brat_tok_to_doc(data / f"{SPECIAL}.tok.txt", data / f"{SPECIAL}.tok.ann", vocab, report)
    assert [t.text for t in doc] == SPECIAL_TEXT.split()
    assert doc.text == "Тарас Шевченко народився в Києві . Він писав вірші ."
    assert [s.text for s in doc.sents] == ["Тарас Шевченко народився в Києві .",
                                           "Він писав вірші ."]
    assert doc.user_data["name"] == SPECIAL
    assert ents(doc) == [("Тарас Шевченко", "PERS"), ("Києві", "LOC")]
    overlap = [i for i in report.issues if i.kind == "overlap"]
    assert len(overlap) == 1 and overlap[0].action == "dropped" and overlap[0].line == 3
    assert overlap[0].path.endswith(f"{SPECIAL}.tok.ann") and "T1" in overlap[0].message
    off = [i for i in report.issues if i.kind == "off token boundaries"]
    assert len(off) == 1 and off[0].line == 4 and off[0].action == "dropped"
    assert report.count("ignored") == 2
    assert sum(report.read_ents.values()) == 4 == len(doc.ents) + report.count("dropped")
    assert (report.read_docs, report.read_sents, report.read_tokens) == (1, 2, len(doc))


def test_brat_equal_length_overlap_keeps_first_and_drops_duplicates(tmp_path: Path, vocab):
    text = "Верховна Рада України ухвалила закон .\n"
    (tmp_path / "a.tok.txt").write_text(text, encoding="utf-8")
    ann = [t_line(1, "ORG", text, "Верховна Рада"), t_line(2, "LOC", text, "Рада України"),
           t_line(3, "ORG", text, "Верховна Рада"), t_line(4, "MISC", text, "Верховна Рада")]
    (tmp_path / "a.tok.ann").write_text("\n".join(ann), encoding="utf-8")
    report = ConversionReport()
    doc = brat_tok_to_doc(tmp_path / "a.tok.txt", tmp_path / "a.tok.ann", vocab, report)
    assert ents(doc) == [("Верховна Рада", "ORG")]
    assert [(i.kind, i.line) for i in report.issues if i.action == "dropped"] == \
        [("duplicate", 3), ("overlap", 2), ("overlap", 4)]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_brat_tok_lines_end_in_lf_crlf_or_cr(tmp_path: Path, vocab, newline):
    """probe 6 b10: with CR-only line ends the two lines were read as one sentence."""
    text = newline.join(["Тарас Шевченко жив у Києві .", "Він писав вірші .", ""])
    (tmp_path / "a.tok.txt").write_bytes(text.encode("utf-8"))
    ann = [t_line(1, "PERS", text, "Тарас Шевченко"), t_line(2, "LOC", text, "Києві")]
    (tmp_path / "a.tok.ann").write_text("\n".join(ann), encoding="utf-8")
    doc = brat_tok_to_doc(tmp_path / "a.tok.txt", tmp_path / "a.tok.ann", vocab, ConversionReport())
    assert [s.text for s in doc.sents] == ["Тарас Шевченко жив у Києві .", "Він писав вірші ."]
    assert ents(doc) == [("Тарас Шевченко", "PERS"), ("Києві", "LOC")]


def test_brat_discontinuous_multiline_and_shifted(tmp_path: Path, vocab):
    text = "Тарас\nШевченко народився у Києві .\n"
    (tmp_path / "a.tok.txt").write_text(text, encoding="utf-8")
    s1, e1 = span(text, "Тарас")
    s2, e2 = span(text, "Шевченко")
    s3, e3 = span(text, "Києві")
    ann = [
        f"T1\tPERS {s1} {e1};{s2} {e2}\tТарас Шевченко",  # whitespace gap: merged
        f"T2\tLOC {s1} {e1};{s3} {e3}\tТарас Києві",  # words between: dropped
        f"T3\tLOC {s3 - 1} {e3 - 1}\tКиєві",  # off by one: shifted to the surface
    ]
    (tmp_path / "a.tok.ann").write_text("\n".join(ann), encoding="utf-8")
    report = ConversionReport()
    doc = brat_tok_to_doc(tmp_path / "a.tok.txt", tmp_path / "a.tok.ann", vocab, report)
    assert ents(doc) == [("Тарас Шевченко", "PERS"), ("Києві", "LOC")]
    kinds = {(i.action, i.kind, i.line) for i in report.issues}
    assert ("adjusted", "discontinuous merged", 1) in kinds
    assert ("dropped", "discontinuous", 2) in kinds
    assert ("adjusted", "offsets shifted", 3) in kinds
    assert ("note", "crosses sentence", 1) in kinds  # T1 spans two lines


def test_brat_multiline_surface_continuation(tmp_path: Path):
    text = "ЗАКОН УКРАЇНИ\nПро громади\nТекст .\n"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    s, e = span(text, "ЗАКОН УКРАЇНИ\nПро громади")
    ann = [f"T1\tMISC {s} {e}\tЗАКОН УКРАЇНИ", "Про громади"]  # brat writes the newline
    (tmp_path / "a.ann").write_text("\n".join(ann) + "\n", encoding="utf-8")
    report = ConversionReport()
    doc = brat_raw_to_doc(tmp_path / "a.txt", tmp_path / "a.ann", make_raw_nlp("uk"), report)
    assert ents(doc) == [("ЗАКОН УКРАЇНИ\nПро громади", "MISC")]
    assert report.count("note", "multi-line surface") == 1
    assert report.count("skipped") == 0


def test_brat_malformed_line_error_and_skip(tmp_path: Path):
    bad = ["T9\tPERS 5\tІван", "Z1\tfoo"]
    root = write_corpus(tmp_path / "c", extra_ann={SPECIAL: bad})
    with pytest.raises(ConversionError) as info:
        load_ner_uk(root)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.path.endswith(f"{SPECIAL}.tok.ann") and err.line == 7
    assert f"{SPECIAL}.tok.ann:7:" in str(err)
    report = ConversionReport()
    docs = load_ner_uk(root, skip_malformed=True, report=report)
    assert [i.line for i in report.issues if i.kind == "malformed line"] == [7, 8]
    special = next(d for split in docs.values() for d in split if d.user_data["name"] == SPECIAL)
    assert ents(special) == [("Тарас Шевченко", "PERS"), ("Києві", "LOC")]


def test_brat_offsets_outside_text_is_malformed(tmp_path: Path):
    root = write_corpus(tmp_path / "c", extra_ann={"doc_00": ["T7\tLOC 3 999\tx"]})
    with pytest.raises(ConversionError, match=r"doc_00\.tok\.ann:4: .*outside"):
        load_ner_uk(root)


# -- splitting -----------------------------------------------------------------------

def test_split_dev_is_deterministic_document_level():
    names = [f"n{i:03d}" for i in range(50)]
    train, dev = split_dev(names, 0.1, seed=0)
    assert (train, dev) == split_dev(names, 0.1, seed=0)
    assert len(dev) == 5 and len(train) == 45
    assert not set(train) & set(dev) and set(train) | set(dev) == set(names)
    assert dev == sorted(dev, key=names.index)  # keeps the input order
    assert set(split_dev(list(reversed(names)), 0.1, seed=0)[1]) == set(dev)
    assert set(split_dev(names, 0.1, seed=1)[1]) != set(dev)
    assert len(split_dev(names[:3], 0.1)[1]) == 1  # at least one
    assert split_dev(names, 0.0) == (names, [])
    assert split_dev(names[:1], 0.5) == (names[:1], [])
    with pytest.raises(ValueError):
        split_dev(names, 1.0)


def test_read_split_file_errors(tmp_path: Path):
    path = tmp_path / "split.txt"
    path.write_text("DEV\na.tok\nb.tok\n\nTEST\nc (1).tok\n", encoding="utf-8")
    assert read_split_file(path) == {"DEV": ["a", "b"], "TEST": ["c (1)"]}
    path.write_text("DEV\na.tok\nTEST\na.tok\n", encoding="utf-8")
    with pytest.raises(ConversionError, match=r"split\.txt:4: .*twice"):
        read_split_file(path)
    path.write_text("a.tok\nDEV\n", encoding="utf-8")
    with pytest.raises(ConversionError, match=r":1: "):
        read_split_file(path)


def test_load_ner_uk_splits(corpus: Path):
    sections = read_split_file(corpus / "v1.0" / "dev-test-split.txt")
    report = ConversionReport()
    docs = load_ner_uk(corpus, dev_fraction=0.2, seed=3, report=report)
    names = {k: [d.user_data["name"] for d in v] for k, v in docs.items()}
    assert names["test"] == sections["TEST"]
    assert len(names["dev"]) == 2 and len(names["train"]) == 8
    assert sorted(names["train"] + names["dev"]) == sorted(sections["DEV"])
    assert not set(names["train"]) & set(names["dev"])
    assert names == {k: [d.user_data["name"] for d in v]
                     for k, v in load_ner_uk(corpus / "v1.0", dev_fraction=0.2, seed=3).items()}
    small = load_ner_uk(corpus, dev_fraction=0.2, seed=3, max_docs=1)
    assert {k: [d.user_data["name"] for d in v] for k, v in small.items()} == \
        {k: v[:1] for k, v in names.items()}


def test_missing_document_is_reported(corpus: Path):
    (corpus / "v1.0" / "data" / "doc_00.tok.ann").unlink()
    report = ConversionReport()
    docs = load_ner_uk(corpus, report=report)
    assert sum(len(v) for v in docs.values()) == 12
    missing = [i for i in report.issues if i.kind == "missing document"]
    assert len(missing) == 1 and missing[0].path.endswith("doc_00")
    assert ".tok.ann" in missing[0].message


def test_convert_ner_uk_writes_docbins(corpus: Path, tmp_path: Path):
    out = tmp_path / "out"
    report = convert_ner_uk(corpus, out, dev_fraction=0.1, seed=0)
    written = {s: read_docbin(out / f"{s}.spacy") for s in ("train", "dev", "test")}
    assert {s: len(d) for s, d in written.items()} == {"train": 9, "dev": 1, "test": 3}
    for split, docs in written.items():
        stats = report.splits[split]
        assert stats.docs == len(docs) and stats.tokens == sum(len(d) for d in docs)
        assert sum(stats.ents.values()) == sum(len(d.ents) for d in docs)
        assert stats.sents == sum(len(list(d.sents)) for d in docs)
    assert report.total.ents == {"PERS": 13, "LOC": 13, "ORG": 12}
    assert sum(report.read_ents.values()) == 40 == sum(report.total.ents.values()) + 2
    text = report.format()
    assert "train" in text and "PERS" in text and "overlap" in text


# -- brat, raw variant ---------------------------------------------------------------

def test_brat_raw_alignment_is_reported(tmp_path: Path):
    text = "Тарас Шевченко народився в Києві.\nВін писав вірші у Петербурзі.\n"
    (tmp_path / "r.txt").write_text(text, encoding="utf-8")
    s, e = span(text, "Києві")
    ann = [t_line(1, "PERS", text, "Тарас Шевченко"),
           f"T2\tLOC {s} {e - 1}\tКиєв",  # inside a token: expanded
           t_line(3, "LOC", text, "Петербурзі")]
    (tmp_path / "r.ann").write_text("\n".join(ann), encoding="utf-8")
    report = ConversionReport()
    doc = brat_raw_to_doc(tmp_path / "r.txt", tmp_path / "r.ann", make_raw_nlp("uk"), report)
    assert doc.text == text
    assert ents(doc) == [("Тарас Шевченко", "PERS"), ("Києві", "LOC"), ("Петербурзі", "LOC")]
    adjusted = [i for i in report.issues if i.action == "adjusted"]
    assert [(i.kind, i.line) for i in adjusted] == [("expanded to tokens", 2)]
    assert "'Києві'" in adjusted[0].message
    assert len(list(doc.sents)) == 2


def test_load_ner_uk_raw_variant_uses_txt_files(corpus: Path):
    data = corpus / "v1.0" / "data"
    text = "Іван живе у Львові."
    (data / "doc_00.txt").write_text(text, encoding="utf-8")
    (data / "doc_00.ann").write_text(t_line(1, "LOC", text, "Львові") + "\n", encoding="utf-8")
    report = ConversionReport()
    docs = load_ner_uk(corpus, variant="raw", dev_fraction=0.0, report=report)
    assert [d.text for d in docs["train"]] == [text]
    assert ents(docs["train"][0]) == [("Львові", "LOC")]
    assert report.count("skipped", "missing document") == 12


# -- CoNLL ---------------------------------------------------------------------------

CONLL_IOB1 = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER
Mary NNP I-NP B-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP I-LOC
1996-08-22 CD I-NP O
"""

CONLL_IOB2 = "EU\tB-ORG\nrejects\tO\nGerman\tB-MISC\ncall\tO\n.\tO\n\n" \
    "Peter\tB-PER\nBlackburn\tI-PER\nMary\tB-PER\n\nBRUSSELS\tB-LOC\n1996-08-22\tO\n"


def test_conll_iob1_docstart(tmp_path: Path, vocab):
    path = tmp_path / "a.conll"
    path.write_text(CONLL_IOB1, encoding="utf-8")
    report = ConversionReport()
    docs = read_conll(path, vocab, report)
    assert len(docs) == 2
    assert [s.text for s in docs[0].sents] == ["EU rejects German call .", "Peter Blackburn Mary"]
    assert ents(docs[0]) == [("EU", "ORG"), ("German", "MISC"), ("Peter Blackburn", "PER"),
                             ("Mary", "PER")]
    assert ents(docs[1]) == [("BRUSSELS", "LOC")]
    assert (report.read_docs, report.read_sents, report.read_tokens) == (2, 3, 10)
    assert report.read_ents == {"ORG": 1, "MISC": 1, "PER": 2, "LOC": 1}


def test_conll_empty_document_is_reported_and_keeps_its_number(tmp_path: Path, vocab):
    """probe 6 n06: an empty -DOCSTART- document was dropped with 'issues: none' and the
    next document took its name."""
    path = tmp_path / "a.conll"
    path.write_text("-DOCSTART- O\n\nKyiv B-LOC\n\n-DOCSTART- O\n\n-DOCSTART- O\n\nLviv B-LOC\n",
                    encoding="utf-8")
    report = ConversionReport()
    docs = read_conll(path, vocab, report)
    assert [d.user_data["name"] for d in docs] == ["a.conll#1", "a.conll#3"]
    (issue,) = report.issues
    assert (issue.action, issue.kind, issue.line) == ("skipped", "empty document", 5)
    assert "document a.conll#2 (the -DOCSTART- line) has no tokens" in issue.message


def test_conll_iob2_two_columns_equals_iob1(tmp_path: Path, vocab):
    p1, p2 = tmp_path / "a.conll", tmp_path / "b.conll"
    p1.write_text(CONLL_IOB1, encoding="utf-8")
    p2.write_text(CONLL_IOB2, encoding="utf-8")
    docs1, docs2 = read_conll(p1, vocab), read_conll(p2, vocab)
    assert len(docs2) == 3  # no -DOCSTART-: a Doc per sentence
    assert [e for d in docs1 for e in ents(d)] == [e for d in docs2 for e in ents(d)]
    p2.write_bytes(CONLL_IOB2.replace("\n", "\r\n").encode("utf-8"))  # CRLF line ends
    assert [ents(d) for d in read_conll(p2, vocab)] == [ents(d) for d in docs2]


def test_conll_entities_do_not_cross_sentences(tmp_path: Path, vocab):
    path = tmp_path / "a.conll"
    path.write_text("-DOCSTART-\n\nNew I-LOC\nYork I-LOC\n\nYork I-LOC\nis O\n", encoding="utf-8")
    (doc,) = read_conll(path, vocab)
    assert ents(doc) == [("New York", "LOC"), ("York", "LOC")]


@pytest.mark.parametrize("line,message", [("foo X-FOO", "invalid IOB tag 'X-FOO'"),
                                          ("foo NN O", "expected 2 columns"),
                                          ("lonely", "found 1 column"),
                                          ("foo B-", "invalid IOB tag")])
def test_conll_malformed_line(tmp_path: Path, vocab, line: str, message: str):
    path = tmp_path / "bad.conll"
    path.write_text(f"EU B-ORG\nsays O\n{line}\n\nok O\n", encoding="utf-8")
    with pytest.raises(ConversionError) as info:
        read_conll(path, vocab)
    assert str(info.value).startswith(f"{path}:3: ") and message in str(info.value)
    report = ConversionReport()
    docs = read_conll(path, vocab, report, skip_malformed=True)
    assert [t.text for d in docs for t in d] == ["EU", "says", "ok"]
    assert [(i.action, i.line) for i in report.issues] == [("skipped", 3)]


def test_sentences_to_doc_and_back(vocab):
    sents = [(["Тарас", "Шевченко", "жив", "."], ["B-PERS", "I-PERS", "O", "O"]),
             (["Київ", "і", "Львів"], ["I-LOC", "O", "B-LOC"])]
    doc = sentences_to_doc(vocab, sents, name="x")
    assert doc.text == "Тарас Шевченко жив . Київ і Львів"
    assert doc_to_sentences(doc) == [sents[0], (sents[1][0], ["B-LOC", "O", "B-LOC"])]


# -- Hugging Face --------------------------------------------------------------------

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def hf_dataset(rows):
    datasets = pytest.importorskip("datasets")

    features = datasets.Features({
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=TAGS)),
    })
    return datasets.Dataset.from_dict({"tokens": [r[0] for r in rows],
                                       "ner_tags": [r[1] for r in rows]}, features=features)


ROWS = [(["Іван", "Франко", "жив", "у", "Львові"], [1, 2, 0, 0, 3]),
        (["Київ", "велике", "місто"], [3, 0, 0]),
        (["Привіт"], [0])]


def test_hf_dataset_in_memory(vocab):
    report = ConversionReport()
    docs = hf_to_docs(hf_dataset(ROWS), vocab, report=report, source="mem")
    assert [ents(d) for d in docs] == [[("Іван Франко", "PER"), ("Львові", "LOC")],
                                       [("Київ", "LOC")], []]
    assert report.read_ents == {"PER": 1, "LOC": 2} and report.read_tokens == 9
    (merged,) = hf_to_docs(hf_dataset(ROWS), vocab, n_sents=5)
    assert len(list(merged.sents)) == 3 and len(merged.ents) == 3


def test_hf_string_tags_and_malformed_rows(vocab):
    datasets = pytest.importorskip("datasets")

    ds = datasets.Dataset.from_dict({"tokens": [["Іван", "тут"], ["a", "b"]],
                                     "ner_tags": [["B-PER", "O"], ["O"]]})
    with pytest.raises(ConversionError, match=r"mem:1: row 1: 2 tokens but 1 tags"):
        hf_to_docs(ds, vocab, source="mem")
    report = ConversionReport()
    docs = hf_to_docs(ds, vocab, source="mem", report=report, skip_malformed=True)
    assert [ents(d) for d in docs] == [[("Іван", "PER")]] and report.count("skipped") == 1
    ints = datasets.Dataset.from_dict({"tokens": [["Іван"]], "ner_tags": [[1]]})
    with pytest.raises(ConversionError, match="no tag names"):
        hf_to_docs(ints, vocab)
    assert ents(hf_to_docs(ints, vocab, tag_names=TAGS)[0]) == [("Іван", "PER")]
    with pytest.raises(ConversionError, match="outside"):
        hf_to_docs(ints, vocab, tag_names=["O"])


def test_hf_datasetdict_save_to_disk_and_parquet(tmp_path: Path):
    datasets = pytest.importorskip("datasets")

    dd = datasets.DatasetDict({"train": hf_dataset(ROWS), "validation": hf_dataset(ROWS[:1]),
                               "test": hf_dataset(ROWS[1:])})
    expected = {"train": 3, "dev": 1, "test": 2}
    report = convert_hf(dd, tmp_path / "mem")
    assert {k: s.docs for k, s in report.splits.items()} == expected
    dd.save_to_disk(str(tmp_path / "saved"))
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    for split, ds in dd.items():
        ds.to_parquet(str(parquet / f"{split}-00000-of-00001.parquet"))
    for source in ("saved", "parquet"):
        out = tmp_path / f"out_{source}"
        report = convert_hf(tmp_path / source, out, cache_dir=tmp_path / "cache")
        assert {k: s.docs for k, s in report.splits.items()} == expected
        train = read_docbin(out / "train.spacy")
        assert [ents(d) for d in train][0] == [("Іван Франко", "PER"), ("Львові", "LOC")]
        assert sorted(p.name for p in out.iterdir()) == ["dev.spacy", "test.spacy", "train.spacy"]
    single = load_hf(tmp_path / "saved" / "train")
    assert isinstance(single, datasets.Dataset) and len(single) == 3
    split_map = parse_split_map("train=all,test=all,validation=")
    report = convert_hf(dd, tmp_path / "mapped", split_map=split_map)
    assert {k: s.docs for k, s in report.splits.items()} == {"all": 5}
    assert report.count("note", "split left out") == 1


def test_hf_split_map_names_a_split_once():
    """probe 7 s020: 'hf1=train,hf1=dev' kept the last target without a word."""
    with pytest.raises(ValueError, match=r"--split-map maps 'hf1' twice \(hf1=train, hf1=dev\): map each split once"):
        parse_split_map("hf1=train,hf1=dev")
    assert parse_split_map("train=all,test=all") == {"train": "all", "test": "all"}  # targets may repeat


def test_hf_missing_path(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load_hf(str(tmp_path / "nope"))


# -- NeMo ----------------------------------------------------------------------------

def test_nemo_read_and_mismatch(tmp_path: Path, vocab):
    text, labels = tmp_path / "text.txt", tmp_path / "labels.txt"
    text.write_text("Іван живе у Львові\n\nКиїв\n", encoding="utf-8")
    labels.write_text("B-PER O O B-LOC\n\nB-LOC\n", encoding="utf-8")
    docs = read_nemo(text, labels, vocab)
    assert [ents(d) for d in docs] == [[("Іван", "PER"), ("Львові", "LOC")], [("Київ", "LOC")]]
    labels.write_text("B-PER O O B-LOC\n\nB-LOC O\n", encoding="utf-8")
    with pytest.raises(ConversionError) as info:
        read_nemo(text, labels, vocab)
    assert str(info.value).startswith(f"{labels}:3: 1 words")
    report = ConversionReport()
    assert len(read_nemo(text, labels, vocab, report=report, skip_malformed=True)) == 1
    assert report.count("skipped", "malformed line") == 1
    labels.write_text("B-PER O O B-LOC\n", encoding="utf-8")
    with pytest.raises(ConversionError, match=r"text\.txt:3: line 3 has no counterpart"):
        read_nemo(text, labels, vocab)


def test_nemo_round_trip(tmp_path: Path, corpus: Path):
    out = tmp_path / "out"
    convert_ner_uk(corpus, out)
    original = read_docbin(out / "train.spacy")
    report = convert_to_nemo(out / "train.spacy", tmp_path / "nemo", suffix="_train")
    text, labels = tmp_path / "nemo" / "text_train.txt", tmp_path / "nemo" / "labels_train.txt"
    lines = text.read_text(encoding="utf-8").splitlines()
    assert len(lines) == sum(len(list(d.sents)) for d in original) == report.splits["nemo"].sents
    back = read_nemo(text, labels, spacy.blank("uk").vocab)
    assert [(t.text, t.ent_iob_, t.ent_type_) for d in back for t in d] == \
        [(t.text, t.ent_iob_, t.ent_type_) for d in original for t in d]
    spacy_path = write_docbin(back, tmp_path / "back.spacy")
    assert [ents(d) for d in read_docbin(spacy_path)] == [ents(d) for d in back]


def test_write_nemo_skips_whitespace_tokens(tmp_path: Path):
    nlp = spacy.blank("uk")
    doc = nlp("ЗАКОН УКРАЇНИ\nПро громади")
    doc.ents = [doc.char_span(0, len(doc.text), label="MISC")]
    report = ConversionReport()
    write_nemo([doc], tmp_path, report=report)
    assert (tmp_path / "text.txt").read_text(encoding="utf-8") == "ЗАКОН УКРАЇНИ Про громади\n"
    assert (tmp_path / "labels.txt").read_text(encoding="utf-8") == "B-MISC I-MISC I-MISC I-MISC\n"
    assert report.count("note", "whitespace tokens") == 1


# -- command line --------------------------------------------------------------------

def test_cli_ner_uk_main(corpus: Path, tmp_path: Path, capsys):
    issues = tmp_path / "issues.tsv"
    assert main(["ner-uk", str(corpus / "v1.0"), str(tmp_path / "o"), "--max-docs", "2",
                 "--dev-fraction", "0.3", "--seed", "1", "--issues-file", str(issues)]) == 0
    printed = capsys.readouterr().out
    assert "split" in printed and "tokens" in printed and "total" in printed
    sizes = {s: len(read_docbin(tmp_path / "o" / f"{s}.spacy")) for s in ("train", "dev", "test")}
    assert sizes == {"train": 2, "dev": 2, "test": 2}
    assert issues.read_text(encoding="utf-8").startswith("action\tkind\tlabel\tpath\tline\tmessage\n")


def test_cli_hf_nemo_and_to_nemo(tmp_path: Path, capsys):
    datasets = pytest.importorskip("datasets")

    datasets.DatasetDict({"train": hf_dataset(ROWS), "validation": hf_dataset(ROWS[:1])}) \
        .save_to_disk(str(tmp_path / "saved"))
    assert main(["hf", str(tmp_path / "saved"), str(tmp_path / "hf"),
                 "--split-map", "train=train,validation=held"]) == 0
    assert "held" in capsys.readouterr().out
    assert [ents(d) for d in read_docbin(tmp_path / "hf" / "held.spacy")] == \
        [[("Іван Франко", "PER"), ("Львові", "LOC")]]
    assert main(["to-nemo", str(tmp_path / "hf" / "train.spacy"), str(tmp_path / "nemo")]) == 0
    assert (tmp_path / "nemo" / "labels.txt").read_text(encoding="utf-8") == \
        "B-PER I-PER O O B-LOC\nB-LOC O O\nO\n"
    assert main(["nemo", str(tmp_path / "nemo" / "text.txt"), str(tmp_path / "nemo" / "labels.txt"),
                 str(tmp_path / "back.spacy"), "--n-sents", "2"]) == 0
    back = read_docbin(tmp_path / "back.spacy")
    assert [len(list(d.sents)) for d in back] == [2, 1]
    assert [e for d in back for e in ents(d)] == [("Іван Франко", "PER"), ("Львові", "LOC"),
                                                  ("Київ", "LOC")]


def test_cli_errors_name_the_path(tmp_path: Path, capsys):
    missing = tmp_path / "no such dir"
    assert main(["ner-uk", str(missing), str(tmp_path / "o")]) == 1
    assert str(missing) in capsys.readouterr().err
    assert main(["nemo", str(missing / "t.txt"), str(missing / "l.txt"), "x.spacy"]) == 1
    assert "t.txt" in capsys.readouterr().err
    assert main(["to-nemo", str(missing / "x.spacy"), str(tmp_path)]) == 1
    assert "x.spacy" in capsys.readouterr().err
    assert main(["bogus"]) == 1
    assert "unknown command 'bogus'" in capsys.readouterr().err


def test_cli_subprocess(tmp_path: Path):
    conll = tmp_path / "in.conll"
    conll.write_text(CONLL_IOB1, encoding="utf-8")
    out = tmp_path / "out.spacy"
    cmd = [sys.executable, "-m", "spacy_rnn_ner", "convert", "conll", str(conll), str(out)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ORG" in done.stdout and "wrote" in done.stdout
    assert [ents(d) for d in read_docbin(out)][1] == [("BRUSSELS", "LOC")]



def test_cli_malformed_input_is_a_one_line_error(tmp_path: Path, capsys):
    conll = tmp_path / "in.conll"
    conll.write_text("EU B-ORG\nrejects X-FOO\n", encoding="utf-8")
    assert main(["conll", str(conll), str(tmp_path / "out.spacy")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {conll}:2: invalid IOB tag 'X-FOO'") and err.count("\n") == 1
    assert not (tmp_path / "out.spacy").exists()
    assert main(["conll", str(conll), str(tmp_path / "out.spacy"), "--skip-malformed"]) == 0
    assert "skipped  malformed line" in capsys.readouterr().out
    assert [t.text for d in read_docbin(tmp_path / "out.spacy") for t in d] == ["EU"]


# -- the real corpus -----------------------------------------------------------------

@pytest.mark.skipif(not (NER_UK_DIR / "v1.0").is_dir(), reason=f"ner-uk not at {NER_UK_DIR}")
def test_real_ner_uk_totals():
    report = ConversionReport()
    docs = load_ner_uk(NER_UK_DIR, report=report)
    for split, split_docs in docs.items():
        for doc in split_docs:
            report.add_doc(split, doc)
    total = report.total
    assert (total.docs, total.tokens, sum(total.ents.values())) == (262, 237_327, 7_441)
    assert total.ents == {"PERS": 4_387, "LOC": 1_614, "ORG": 780, "MISC": 660}
    assert total.sents == 13_862
    assert report.splits["test"].docs == 80
    assert report.splits["train"].docs + report.splits["dev"].docs == 182
    assert report.splits["dev"].docs == 18
    assert report.issues == []


@pytest.mark.slow
@pytest.mark.skipif(not (NER_UK_DIR / "v1.0").is_dir(), reason=f"ner-uk not at {NER_UK_DIR}")
def test_real_ner_uk_raw_variant_anomalies():
    report = ConversionReport()
    docs = load_ner_uk(NER_UK_DIR, variant="raw", report=report)
    assert sum(len(v) for v in docs.values()) == 227  # 35 split documents have no raw .ann
    assert sum(report.read_ents.values()) == 6_346
    assert sum(len(d.ents) for v in docs.values() for d in v) == 6_346  # none dropped
    counts = {k: n for k, n in report.issue_counts().items() if k[0] != "note"}
    assert counts == {("skipped", "missing document"): 35, ("adjusted", "offsets shifted"): 10,
                      ("adjusted", "expanded to tokens"): 11,
                      ("adjusted", "whitespace trimmed"): 2}
    assert report.count("note", "multi-line surface") == 1
    assert report.count("note", "surface mismatch") == 1


# -- regression tests: nothing lost, every bad file named (issue 9) -------------------

def assert_balanced(report: ConversionReport, docs=None) -> None:
    """Per label: entities read = entities written + entities reported as dropped
    (``docs``: what a reader returned, counted as written)."""
    for doc in docs or []:
        report.add_doc("out", doc)
    assert report.unbalanced() == {}, report.format(max_issues=None)
    assert sum(report.read_ents.values()) > 0


def write_nemo_pair(tmp_path: Path, text: str, labels: str) -> Tuple[Path, Path]:
    t, lab = tmp_path / "text.txt", tmp_path / "labels.txt"
    t.write_text(text, encoding="utf-8")
    lab.write_text(labels, encoding="utf-8")
    return t, lab


def spacy_file(tmp_path: Path, docs, name: str = "in.spacy") -> Path:
    path = tmp_path / name
    from spacy.tokens import DocBin

    DocBin(docs=docs).to_disk(path)
    return path


def test_to_nemo_whitespace_tokens_keep_text_and_labels_aligned(tmp_path: Path):
    nlp = make_raw_nlp("uk")
    text = "  Тарас  Шевченко жив у Києві.\n\nВін писав  вірші."
    doc = nlp(text)
    doc.ents = [doc.char_span(*span(text, "Тарас  Шевченко"), label="PERS"),
                doc.char_span(*span(text, "Києві"), label="LOC")]
    assert any(t.is_space for t in doc)
    # read back through the DocBin reader, as the command does
    report = convert_to_nemo(spacy_file(tmp_path, [doc]), tmp_path / "nemo")
    lines = (tmp_path / "nemo" / "text.txt").read_text(encoding="utf-8").splitlines()
    labels = (tmp_path / "nemo" / "labels.txt").read_text(encoding="utf-8").splitlines()
    assert lines == ["Тарас Шевченко жив у Києві .", "Він писав вірші ."]
    assert [len(x.split(" ")) for x in lines] == [len(x.split(" ")) for x in labels]
    assert all("" not in x.split(" ") for x in lines)
    assert labels[0] == "B-PERS I-PERS O O B-LOC O"
    assert_balanced(report)
    back = read_nemo(tmp_path / "nemo" / "text.txt", tmp_path / "nemo" / "labels.txt",
                     spacy.blank("uk").vocab)
    assert [e for d in back for e in ents(d)] == [("Тарас Шевченко", "PERS"), ("Києві", "LOC")]


def test_to_nemo_entity_across_sentences_is_kept_whole_and_reported(tmp_path: Path, vocab):
    from spacy.tokens import Doc, Span

    doc = Doc(vocab, words=["Рада", "України", "засідала", "."],
              sent_starts=[True, True, False, False])
    doc.ents = [Span(doc, 0, 2, label="ORG")]
    report = convert_to_nemo(spacy_file(tmp_path, [doc]), tmp_path / "nemo")
    assert (tmp_path / "nemo" / "labels.txt").read_text(encoding="utf-8") == "B-ORG I-ORG O O\n"
    assert report.count("adjusted", "sentences joined") == 1
    assert report.total.ents == {"ORG": 1}
    assert_balanced(report)


def test_to_nemo_whitespace_only_entity_is_reported(tmp_path: Path, vocab):
    from spacy.tokens import Doc, Span

    doc = Doc(vocab, words=["Київ", "\n\n", "."], spaces=[False, False, False])
    doc.ents = [Span(doc, 0, 1, label="LOC"), Span(doc, 1, 2, label="MISC")]
    report = convert_to_nemo(spacy_file(tmp_path, [doc]), tmp_path / "nemo")
    assert report.dropped_ents() == {"MISC": 1}
    assert_balanced(report)


def test_nemo_skip_reports_every_extra_line(tmp_path: Path, vocab):
    text, labels = write_nemo_pair(tmp_path, "Іван живе\nКиїв\nа\nб\nв\n", "B-PER O\nB-LOC\n")
    from spacy_rnn_ner.converters.nemo import convert_nemo

    report = convert_nemo(text, labels, tmp_path / "out.spacy", skip_malformed=True)
    assert report.total.docs == 2
    skipped = [(i.path, i.line) for i in report.issues if i.action == "skipped"]
    assert skipped == [(str(text), 3), (str(text), 4), (str(text), 5)]
    assert_balanced(report)


@pytest.mark.parametrize("columns,bad_line", [(2, "Union X-BAD"),  # unreadable tag
                                              (3, "Union I-ORG")])  # 2 of 3 columns
def test_conll_skipped_token_inside_entity_drops_it(tmp_path: Path, vocab, columns: int,
                                                    bad_line: str):
    path = tmp_path / "a.conll"
    pos = " NN" if columns == 3 else ""
    lines = [f"EU{pos} B-ORG", bad_line, f"Commission{pos} I-ORG", f"says{pos} O",
             f"Peter{pos} B-PER"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ConversionReport()
    (doc,) = read_conll(path, vocab, report, skip_malformed=True)
    assert [t.text for t in doc] == ["EU", "Commission", "says", "Peter"]
    assert ents(doc) == [("Peter", "PER")]  # never "EU Commission"
    dropped = [(i.kind, i.line, i.label) for i in report.issues if i.action == "dropped"]
    assert dropped == [("entity with skipped token", 2, "ORG")]
    assert report.read_ents == {"ORG": 1, "PER": 1}
    assert_balanced(report, [doc])


def test_conll_skipped_token_next_to_entity_keeps_it(tmp_path: Path, vocab):
    path = tmp_path / "a.conll"
    path.write_text("EU B-ORG\nsaid X-BAD\nPeter I-PER\n", encoding="utf-8")
    report = ConversionReport()
    (doc,) = read_conll(path, vocab, report, skip_malformed=True)
    assert ents(doc) == [("EU", "ORG"), ("Peter", "PER")]
    assert report.count("dropped") == 0
    assert_balanced(report, [doc])


@pytest.mark.parametrize("content", ["", "\n\n", "-DOCSTART- -X- -X- O\n\n"])
def test_conll_empty_input_is_an_error(tmp_path: Path, vocab, content: str, capsys):
    path = tmp_path / "empty.conll"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConversionError, match="no tokens found"):
        read_conll(path, vocab)
    assert main(["conll", str(path), str(tmp_path / "out.spacy")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: no tokens found") and err.count("\n") == 1
    assert not (tmp_path / "out.spacy").exists()


def test_nemo_empty_input_is_an_error(tmp_path: Path, vocab, capsys):
    text, labels = write_nemo_pair(tmp_path, "", "")
    with pytest.raises(ConversionError, match="no sentences found"):
        read_nemo(text, labels, vocab)
    assert main(["nemo", str(text), str(labels), str(tmp_path / "o.spacy")]) == 1
    assert str(text) in capsys.readouterr().err


def test_brat_repeated_entity_id_is_malformed(tmp_path: Path):
    text = SPECIAL_TEXT
    root = write_corpus(tmp_path / "c", extra_ann={SPECIAL: [
        t_line(1, "LOC", text, "Він")]})  # a second T1
    with pytest.raises(ConversionError, match=r"\.tok\.ann:7: entity id T1 used again "
                                              r"\(first on line 1\)"):
        load_ner_uk(root)
    report = ConversionReport()
    docs = load_ner_uk(root, skip_malformed=True, report=report)
    assert [i.line for i in report.issues if i.kind == "malformed line"] == [7]
    assert_balanced(report, [d for v in docs.values() for d in v])


def test_brat_empty_text_is_reported(corpus: Path):
    (corpus / "v1.0" / "data" / "doc_00.tok.txt").write_text("\n", encoding="utf-8")
    report = ConversionReport()
    docs = load_ner_uk(corpus, report=report)
    assert "doc_00" not in [d.user_data["name"] for v in docs.values() for d in v]
    empty = [i for i in report.issues if i.kind == "empty document"]
    assert len(empty) == 1 and empty[0].action == "skipped"
    assert empty[0].path.endswith("doc_00.tok.txt")


def test_every_converter_balances_read_written_and_dropped(corpus: Path, tmp_path: Path):
    # ner-uk (tok): the special document drops an overlap and an off-boundary entity
    report = convert_ner_uk(corpus, tmp_path / "tok")
    assert sum(report.dropped_ents().values()) == 2
    assert_balanced(report)
    # ner-uk (raw) with an entity expanded and a whitespace-only one dropped
    data = corpus / "v1.0" / "data"
    text = "Іван  живе у Львові.\n"
    (data / "doc_00.txt").write_text(text, encoding="utf-8")
    s, e = span(text, "  ")
    (data / "doc_00.ann").write_text(t_line(1, "LOC", text, "Львові") + f"\nT2\tPERS {s} {e}\t  \n",
                                     encoding="utf-8")
    report = convert_ner_uk(corpus, tmp_path / "raw", variant="raw", dev_fraction=0.0)
    assert report.dropped_ents() == {"PERS": 1}
    assert_balanced(report)
    # CoNLL with a skipped token inside an entity
    conll = tmp_path / "a.conll"
    conll.write_text(CONLL_IOB1.replace("Blackburn NNP I-NP I-PER", "Blackburn I-PER"),
                     encoding="utf-8")
    from spacy_rnn_ner.converters.conll import convert_conll
    from spacy_rnn_ner.converters.nemo import convert_nemo

    report = convert_conll(conll, tmp_path / "conll.spacy", skip_malformed=True)
    assert report.dropped_ents() == {"PER": 1}
    assert_balanced(report)
    # NeMo with a malformed line skipped, and back with to-nemo
    text, labels = write_nemo_pair(tmp_path, "Іван живе\nКиїв місто\n", "B-PER O\nB-LOC\n")
    report = convert_nemo(text, labels, tmp_path / "nemo.spacy", skip_malformed=True)
    assert_balanced(report)
    report = convert_to_nemo(tmp_path / "tok" / "train.spacy", tmp_path / "to_nemo")
    assert_balanced(report)


def test_hf_balance_and_empty_split(tmp_path: Path):
    datasets = pytest.importorskip("datasets")
    dd = datasets.DatasetDict({"train": hf_dataset(ROWS), "test": hf_dataset([])})
    report = convert_hf(dd, tmp_path / "hf")
    assert report.count("note", "empty split") == 1
    assert_balanced(report)
    with pytest.raises(ConversionError, match="no sentences"):
        convert_hf(datasets.DatasetDict({"train": hf_dataset([])}), tmp_path / "none")


def test_hf_without_datasets_names_the_extra(tmp_path: Path, monkeypatch):
    from spacy_rnn_ner.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(MissingDependency, match=r"pip install 'spacy-rnn-ner\[hf\]'"):
        convert_hf("conll2003", tmp_path / "out")


@pytest.mark.parametrize("kind", ["brat", "split", "conll", "nemo"])
def test_non_utf8_input_names_file_and_offset(tmp_path: Path, vocab, kind: str):
    bad = "Київ".encode("utf-8") + b" \xd2 B-LOC\n"
    if kind in ("brat", "split"):
        root = write_corpus(tmp_path / "c")
        path = root / "v1.0" / ("data/doc_00.tok.ann" if kind == "brat" else "dev-test-split.txt")
        path.write_bytes(b"DEV\n" + bad if kind == "split" else bad)
        call = lambda: load_ner_uk(root)  # noqa: E731
        offset = bad.index(b"\xd2") + (4 if kind == "split" else 0)
    elif kind == "conll":
        path = tmp_path / "a.conll"
        path.write_bytes(bad)
        call = lambda: read_conll(path, vocab)  # noqa: E731
        offset = bad.index(b"\xd2")
    else:
        path, labels = write_nemo_pair(tmp_path, "", "B-LOC O\n")
        path.write_bytes(bad)
        call = lambda: read_nemo(path, labels, vocab)  # noqa: E731
        offset = bad.index(b"\xd2")
    from spacy_rnn_ner.errors import InputError

    with pytest.raises(InputError) as info:
        call()
    assert str(info.value) == f"{path}: not UTF-8 (byte 0xd2 at offset {offset})"


def test_byte_order_marks_are_dropped(tmp_path: Path, vocab):
    bom = "\ufeff"
    root = write_corpus(tmp_path / "c")
    split = root / "v1.0" / "dev-test-split.txt"
    split.write_text(bom + split.read_text(encoding="utf-8"), encoding="utf-8")
    data = root / "v1.0" / "data"
    for suffix in (".tok.ann", ".tok.txt"):
        path = data / f"doc_00{suffix}"
        path.write_text(bom + path.read_text(encoding="utf-8"), encoding="utf-8")
    report = ConversionReport()
    docs = load_ner_uk(root, report=report)
    doc = next(d for v in docs.values() for d in v if d.user_data["name"] == "doc_00")
    assert doc[0].text == "Іван0" and ents(doc)[0] == ("Іван0", "PERS")
    assert report.count("note", "byte-order mark") == 1
    assert_balanced(report, [d for v in docs.values() for d in v])
    conll = tmp_path / "a.conll"
    conll.write_text(bom + "EU B-ORG\n", encoding="utf-8")
    assert ents(read_conll(conll, vocab)[0]) == [("EU", "ORG")]
    text, labels = write_nemo_pair(tmp_path, bom + "Київ\n", bom + "B-LOC\n")
    assert ents(read_nemo(text, labels, vocab)[0]) == [("Київ", "LOC")]


def test_cli_unwritable_issues_file_is_a_one_line_error(tmp_path: Path, capsys):
    conll = tmp_path / "in.conll"
    conll.write_text(CONLL_IOB1, encoding="utf-8")
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    issues = blocker / "issues.tsv"  # its parent is a file
    out = tmp_path / "out.spacy"
    assert main(["conll", str(conll), str(out), "--issues-file", str(issues)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {blocker}: is a file, expected a folder\n"
    assert not out.exists()  # checked before converting
    assert main(["conll", str(conll), str(out), "--issues-file", str(tmp_path)]) == 1
    assert "is a folder" in capsys.readouterr().err


def test_cli_docbin_input_errors(tmp_path: Path, capsys):
    bad = tmp_path / "bad.spacy"
    bad.write_text("not a docbin", encoding="utf-8")
    assert main(["to-nemo", str(bad), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {bad}: not a spaCy DocBin (.spacy) file (ValueError)\n" or \
        (err.startswith(f"error: {bad}: not a spaCy DocBin") and err.count("\n") == 1)
