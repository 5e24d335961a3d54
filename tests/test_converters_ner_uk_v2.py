"""ner-uk 2.0 converter (``convert ner-uk DIR OUT --version 2.0``) and 2.0 documents
added to 1.0 training data (``--extra-train v2.0:ng``), on small files made here and on
the real corpus (``NER_UK_DIR``)."""
import os
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from spacy_rnn_ner.__main__ import main as rnn_ner_main
from spacy_rnn_ner.converters.brat import split_dev
from spacy_rnn_ner.converters.ner_uk import load_ner_uk
from spacy_rnn_ner.converters.ner_uk_v2 import V1_LABEL_MAP, parse_label_map
from spacy_rnn_ner.converters.report import ConversionError, ConversionReport
from spacy_rnn_ner.io import read_docbin

REPO = Path(__file__).resolve().parents[1]
NER_UK_DIR = Path(os.environ.get("NER_UK_DIR", REPO.parent / "shared" / "ner-uk"))

# a line-break entity: its surface runs onto the next physical line of the .ann file
BREAK_TEXT = "Офіс на вул.\nШевченка , 5 працює .\n"
# nested: two DATEs inside a PERIOD; attached punctuation around an ORG
NESTED_TEXT = "З 2011 до 2012 року «Укртрансгаз» купив картину «Мона Ліза» .\n"


def off(text: str, surface: str) -> Tuple[int, int]:
    start = text.index(surface)
    return start, start + len(surface)


def t2(n: int, label: str, text: str, surface: str) -> str:
    s, e = off(text, surface)
    return f"T{n}\t{label}\t{s}\t{e}\t{surface}"


def v2_docs() -> Dict[str, Tuple[str, str, List[str]]]:
    """``{ID: (source, text, ann lines)}``: a line-break doc, a nested doc, plain docs."""
    s, e = off(BREAK_TEXT, "вул.\nШевченка")
    docs = {
        "aa01": ("bruk", BREAK_TEXT, [f"T1\tLOC\t{s}\t{e}\tвул.", "Шевченка",
                                      t2(2, "QUANT", BREAK_TEXT, "5")]),
        "bb02": ("ng", NESTED_TEXT, [t2(1, "PERIOD", NESTED_TEXT, "З 2011 до 2012 року"),
                                     t2(2, "DATE", NESTED_TEXT, "2011"),
                                     t2(3, "DATE", NESTED_TEXT, "2012 року"),
                                     t2(4, "ORG", NESTED_TEXT, "Укртрансгаз"),
                                     t2(5, "ART", NESTED_TEXT, "Мона Ліза")]),
    }
    for k in range(8):
        text = f"Іван{k} працює в ООН у Києві .\n"
        docs[f"c{k:03d}"] = ("ng" if k % 2 else "bruk", text,
                             [t2(1, "PERS", text, f"Іван{k}"), t2(2, "ORG", text, "ООН"),
                              t2(3, "LOC", text, "Києві")])
    return docs


def write_v2(root: Path, docs=None, test: Tuple[str, ...] = ("c006", "c007")) -> Path:
    """``root/v2.0/data/{bruk,ng}/ID.{txt,ann}`` + ``root/v2.0/data/dev-test-split.txt``."""
    docs = docs if docs is not None else v2_docs()
    data = root / "v2.0" / "data"
    for name, (source, text, ann) in docs.items():
        (data / source).mkdir(parents=True, exist_ok=True)
        (data / source / f"{name}.txt").write_text(text, encoding="utf-8")
        (data / source / f"{name}.ann").write_text("\n".join(ann) + "\n", encoding="utf-8")
    dev = [n for n in docs if n not in test]
    (data / "dev-test-split.txt").write_text("\n".join(["DEV", *dev, "", "TEST", *test]) + "\n",
                                             encoding="utf-8")
    return root


def main(argv: List[str]) -> int:
    return rnn_ner_main(["convert", *argv])


def ents(doc) -> List[Tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents]


def by_name(docs: Dict[str, list]) -> Dict[str, object]:
    return {d.user_data["name"]: d for split in docs.values() for d in split}


def assert_balanced(report: ConversionReport, docs: Dict[str, list]) -> None:
    for split, split_docs in docs.items():
        for doc in split_docs:
            report.add_doc(split, doc)
    assert report.unbalanced() == {}, report.format(max_issues=None)


def test_v2_line_break_nested_sources_and_span_group(tmp_path: Path):
    root = write_v2(tmp_path)
    report = ConversionReport()
    docs = load_ner_uk(root, version="2.0", dev_fraction=0.0, report=report)
    assert {k: len(v) for k, v in docs.items()} == {"train": 8, "dev": 0, "test": 2}
    named = by_name(docs)
    brk, nested = named["aa01"], named["bb02"]
    assert ents(brk) == [("вул. Шевченка", "LOC"), ("5", "QUANT")]
    # the two lines stay one sentence: the entity does not cross a sentence start
    assert [t.is_sent_start for t in brk if t.text == "Шевченка"] == [False]
    assert len(list(brk.sents)) == 1
    assert report.count("note", "multi-line surface") == 1
    assert report.count("note", "sentences joined") == 1
    assert report.count("note", "crosses sentence") == 0
    assert report.count("skipped") == 0
    # outer layer in doc.ents, attached quotes split off, every entity in the span group
    assert ents(nested) == [("З 2011 до 2012 року", "PERIOD"), ("Укртрансгаз", "ORG"),
                            ("Мона Ліза", "ART")]
    assert [(s.text, s.label_) for s in nested.spans["ner-uk"]] == [
        ("З 2011 до 2012 року", "PERIOD"), ("2011", "DATE"), ("2012 року", "DATE"),
        ("Укртрансгаз", "ORG"), ("Мона Ліза", "ART")]
    assert report.dropped_ents() == Counter({"DATE": 2})
    assert report.count("dropped", "nested") == 2
    assert {d.user_data["source"] for d in named.values()} == {"bruk", "ng"}
    assert (named["aa01"].user_data["source"], named["bb02"].user_data["source"]) == \
        ("bruk", "ng")
    assert sum(report.read_ents.values()) == 2 + 5 + 8 * 3
    assert_balanced(report, docs)


def test_v2_inner_layer(tmp_path: Path):
    report = ConversionReport()
    docs = load_ner_uk(write_v2(tmp_path), version="2.0", layer="inner", report=report)
    nested = by_name(docs)["bb02"]
    assert ents(nested) == [("2011", "DATE"), ("2012 року", "DATE"), ("Укртрансгаз", "ORG"),
                            ("Мона Ліза", "ART")]
    assert len(nested.spans["ner-uk"]) == 5
    assert report.dropped_ents() == Counter({"PERIOD": 1})
    assert_balanced(report, docs)


def test_v2_label_map_to_the_1_0_scheme(tmp_path: Path):
    report = ConversionReport()
    docs = load_ner_uk(write_v2(tmp_path), version="2.0", report=report,
                       label_map=parse_label_map("1.0"))
    nested = by_name(docs)["bb02"]
    # PERIOD and DATE dropped by the map before the layer is chosen; ART -> MISC
    assert ents(nested) == [("Укртрансгаз", "ORG"), ("Мона Ліза", "MISC")]
    assert report.relabelled == Counter({("ART", "MISC"): 1})
    assert report.dropped_ents() == Counter({"DATE": 2, "PERIOD": 1, "QUANT": 1})
    assert report.count("dropped", "label map") == 4
    assert "ART->MISC 1" in report.format()
    assert_balanced(report, docs)


def test_parse_label_map():
    assert parse_label_map("ART=MISC, DOC=MISC,DATE=") == {"ART": "MISC", "DOC": "MISC",
                                                         "DATE": ""}
    assert parse_label_map("1.0") == V1_LABEL_MAP
    assert parse_label_map(None) is None
    with pytest.raises(ValueError, match="LABEL=NEW"):
        parse_label_map("ART")


def test_v2_dev_hold_out_is_the_1_0_split_logic(tmp_path: Path):
    root = write_v2(tmp_path)
    docs = load_ner_uk(root, version="2.0", dev_fraction=0.3, seed=4)
    names = [n for n in v2_docs() if n not in ("c006", "c007")]
    train, dev = split_dev(names, 0.3, 4)
    assert [d.user_data["name"] for d in docs["train"]] == train
    assert [d.user_data["name"] for d in docs["dev"]] == dev
    assert [d.user_data["name"] for d in docs["test"]] == ["c006", "c007"]


def test_cli_v2_writes_docbins_with_source_and_span_group(tmp_path: Path, capsys):
    root = write_v2(tmp_path / "ner-uk")
    out = tmp_path / "out"
    assert main(["ner-uk", str(root), str(out), "--version", "2.0", "--nested", "inner",
                 "--label-map", "PERIOD=,DATE=TIME"]) == 0
    printed = capsys.readouterr().out
    assert "relabelled: DATE->TIME 2" in printed and "label map" in printed
    docs = [d for s in ("train", "dev", "test") for d in read_docbin(out / f"{s}.spacy")]
    nested = next(d for d in docs if d.user_data["name"] == "bb02")
    assert nested.user_data["source"] == "ng"
    assert ents(nested)[:2] == [("2011", "TIME"), ("2012 року", "TIME")]
    assert len(nested.spans["ner-uk"]) == 4


def bad_input_cases(tmp_path: Path):
    """``(name, corpus root, argv tail, expected one-line error)``."""
    cases = []
    docs = v2_docs()
    source, text, ann = docs["c001"]
    docs["c001"] = (source, text, ann + [f"T4\tLOC\t{len(text) - 2}\t{len(text) + 5}\tКиєві"])
    root = write_v2(tmp_path / "outside", docs)
    path = root / "v2.0" / "data" / "ng" / "c001.ann"
    cases.append((root, [], f"error: {path}:4: offsets {len(text) - 2} {len(text) + 5} "
                            f"outside the text ({len(text)} characters) or empty"))
    docs = v2_docs()
    source, text, ann = docs["c002"]
    s, e = off(text, "ООН")
    docs["c002"] = (source, text, ann + [f"T4\tORG\t{s}\t{e}\tОНН"])
    root = write_v2(tmp_path / "surface", docs)
    path = root / "v2.0" / "data" / "bruk" / "c002.ann"
    cases.append((root, [], f"error: {path}:4: surface text 'ОНН' does not match the text "
                            f"at {s}-{e} ('ООН')"))
    root = write_v2(tmp_path / "missing")
    split = root / "v2.0" / "data" / "dev-test-split.txt"
    split.write_text(split.read_text(encoding="utf-8") + "zz99\n", encoding="utf-8")
    cases.append((root, [], f"error: {split}:14: document 'zz99' has no .txt and .ann files "
                            f"in {root / 'v2.0' / 'data'}/{{bruk,ng}}"))
    cases.append((write_v2(tmp_path / "version"), ["--version", "3.0"],
                  "error: unknown ner-uk version '3.0' (expected 1.0 or 2.0)"))
    cases.append((write_v2(tmp_path / "map"), ["--label-map", "ARTT=MISC"],
                  "error: the label map names 'ARTT', not a label of ner-uk 2.0 (ART, DATE, DOC, "
                  "JOB, LOC, MISC, MON, ORG, PCT, PERIOD, PERS, QUANT, TIME)"))
    return cases


def test_cli_v2_bad_input_is_one_line_error(tmp_path: Path, capsys):
    for root, extra, expected in bad_input_cases(tmp_path):
        argv = ["ner-uk", str(root), str(tmp_path / "o"), "--version", "2.0", *extra]
        assert main(argv) == 1, expected
        err = capsys.readouterr().err
        assert err == expected + "\n"
    assert not (tmp_path / "o").exists()


def write_v1_and_v2(tmp_path: Path) -> Path:
    """A 1.0 corpus (3 DEV docs, 1 TEST doc) next to the 2.0 files above."""
    root = write_v2(tmp_path / "ner-uk")
    data = root / "v1.0" / "data"
    data.mkdir(parents=True)
    names = ["v1a", "v1b", "v1c", "v1t"]
    for name in names:
        text = f"Петро {name} живе в Одесі .\n"
        (data / f"{name}.tok.txt").write_text(text, encoding="utf-8")
        s, e = off(text, "Одесі")
        (data / f"{name}.tok.ann").write_text(f"T1\tLOC {s} {e}\tОдесі\n", encoding="utf-8")
    (root / "v1.0" / "dev-test-split.txt").write_text(
        "DEV\nv1a.tok\nv1b.tok\nv1c.tok\nTEST\nv1t.tok\n", encoding="utf-8")
    return root


def test_extra_train_adds_v2_dev_ng_docs_in_the_1_0_scheme(tmp_path: Path):
    root = write_v1_and_v2(tmp_path)
    plain = load_ner_uk(root, dev_fraction=0.34, seed=0)
    report = ConversionReport()
    docs = load_ner_uk(root, dev_fraction=0.34, seed=0, extra_train=["ng"], report=report)
    names = {k: [d.user_data["name"] for d in v] for k, v in docs.items()}
    assert names["dev"] == [d.user_data["name"] for d in plain["dev"]]
    assert names["test"] == ["v1t"]
    ng_dev = [n for n, (src, _, _) in v2_docs().items() if src == "ng" and n not in ("c007",)]
    assert names["train"] == [d.user_data["name"] for d in plain["train"]] + ng_dev
    assert "c007" not in sum(names.values(), [])  # a 2.0 TEST document: never read
    labels = {e.label_ for d in docs["train"] for e in d.ents}
    assert labels <= {"PERS", "LOC", "ORG", "MISC"}
    assert ents(by_name(docs)["bb02"]) == [("Укртрансгаз", "ORG"), ("Мона Ліза", "MISC")]
    assert_balanced(report, docs)
    held = load_ner_uk(root, dev_fraction=0.34, seed=0, extra_train=["ng"],
                       extra_dev_fraction=0.5)
    held_dev = [d.user_data["name"] for d in held["dev"]]
    assert held_dev[:len(names["dev"])] == names["dev"] and len(held_dev) == len(names["dev"]) + 2
    assert not set(held_dev) & {d.user_data["name"] for d in held["train"]}


def test_extra_train_rejects_bruk_and_v2(tmp_path: Path, capsys):
    root = write_v1_and_v2(tmp_path)
    assert main(["ner-uk", str(root), str(tmp_path / "o"), "--extra-train", "v2.0:bruk"]) == 1
    assert capsys.readouterr().err == ("error: extra training source 'bruk' not allowed: only "
                                       "'ng' (2.0's 'bruk' documents are the 1.0 documents)\n")
    assert main(["ner-uk", str(root), str(tmp_path / "o"), "--extra-train", "ng"]) == 1
    assert "v2.0:SOURCE" in capsys.readouterr().err
    assert main(["ner-uk", str(root), str(tmp_path / "o"), "--label-map", "1.0"]) == 1
    assert capsys.readouterr().err == ("error: --label-map applies to ner-uk 2.0 documents: use "
                                       "it with --version 2.0 or --extra-train v2.0:ng\n")
    assert main(["ner-uk", str(root), str(tmp_path / "o"), "--extra-dev-fraction", "0.2"]) == 1
    assert "--extra-dev-fraction applies" in capsys.readouterr().err


@pytest.mark.skipif(not (NER_UK_DIR / "v2.0").is_dir(), reason=f"ner-uk 2.0 not at {NER_UK_DIR}")
def test_real_ner_uk_v2_totals():
    report = ConversionReport()
    docs = load_ner_uk(NER_UK_DIR, version="2.0", report=report)
    assert sum(report.read_ents.values()) == 21_993
    assert report.read_docs == 560
    assert len(docs["train"]) + len(docs["dev"]) == 391 and len(docs["test"]) == 169
    assert len(docs["dev"]) == 39
    assert report.count("note", "multi-line surface") == 49
    assert report.count("note", "sentences joined") == 49
    assert report.count("note", "crosses sentence") == 0
    assert report.count("skipped") == 0
    all_docs = [d for v in docs.values() for d in v]
    assert sum(len(d.spans["ner-uk"]) for d in all_docs) == 21_993  # nothing lost
    assert Counter(d.user_data["source"] for d in all_docs) == {"bruk": 262, "ng": 298}
    assert_balanced(report, docs)
    written = sum(report.total.ents.values())
    assert written + sum(report.dropped_ents().values()) == 21_993
    assert report.count("dropped", "nested") == 425


def test_agreement_matches_documents_by_text_across_tokenizations(tmp_path: Path, capsys):
    text2 = "Компанія «Укртрансгаз» купила «Мону Лізу» в Києві .\n"
    text1 = "Компанія « Укртрансгаз » купила « Мону Лізу » в Києві .\n"
    root = write_v2(tmp_path / "ner-uk", {
        "d1": ("bruk", text2, [t2(1, "ORG", text2, "Укртрансгаз"), t2(2, "ART", text2, "Мону Лізу"),
                               t2(3, "DATE", text2, "Києві")]),
        "d2": ("ng", "Інше .\n", []),
    }, test=("d2",))
    data = root / "v1.0" / "data"
    data.mkdir(parents=True)
    (data / "x.tok.txt").write_text(text1, encoding="utf-8")
    (data / "x.tok.ann").write_text("\n".join([
        "T1\tORG {} {}\tУкртрансгаз".format(*off(text1, "Укртрансгаз")),
        "T2\tMISC {} {}\tМону Лізу".format(*off(text1, "Мону Лізу")),
        "T3\tLOC {} {}\tКиєві".format(*off(text1, "Києві"))]) + "\n", encoding="utf-8")
    (root / "v1.0" / "dev-test-split.txt").write_text("DEV\nx.tok\n", encoding="utf-8")
    from spacy_rnn_ner.converters.ner_uk_agreement import version_agreement

    result = version_agreement(root)
    assert result["docs"] == 1
    types = result["types"]
    assert (types["ORG"]["agree"], types["MISC"]["agree"]) == (1, 1)
    assert (types["LOC"]["v1"], types["LOC"]["v2"], types["LOC"]["agree"]) == (1, 0, 0)
    assert (types["total"]["v1"], types["total"]["v2"], types["total"]["agree"]) == (3, 2, 2)
    assert rnn_ner_main(["ner-uk-agreement", str(root), "--output", str(tmp_path / "a.md")]) == 0
    assert "| MISC | 1 | 1 | 1 | 0 | 100.00 | 100.00 | 100.00 |" in capsys.readouterr().out
    assert (tmp_path / "a.md").read_text(encoding="utf-8").count("\n| ") == 6
    # a listed 1.0 document without its .tok.ann is named, not only counted as unmatched
    (data / "y.tok.txt").write_text(text1, encoding="utf-8")
    (root / "v1.0" / "dev-test-split.txt").write_text("DEV\nx.tok\ny.tok\n", encoding="utf-8")
    assert rnn_ner_main(["ner-uk-agreement", str(root)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {data / 'y'}: (train) no .tok.ann file (ner-uk 1.0: not compared)" in err


def test_pretraining_text_of_v2_uses_its_own_test_documents(tmp_path: Path):
    from spacy_rnn_ner.resources.pretraining_text import ner_uk_test_shingles
    from spacy_rnn_ner.resources.text_sources import ner_uk_dev_documents

    root = write_v2(tmp_path / "ner-uk")
    names = [name for name, _ in ner_uk_dev_documents(root, "2.0")]
    assert names == sorted(f"ner-uk-dev/{n}" for n in v2_docs() if n not in ("c006", "c007"))
    shingles = ner_uk_test_shingles(root, str.split, "2.0")
    assert ("іван6", "працює", "в", "оон", "у", "києві", ".", "іван7") not in shingles
    assert ("працює", "в", "оон", "у", "києві", ".") not in shingles  # 8-token windows only
    assert len(shingles) == 0  # each TEST text has 7 tokens: no 8-token window
    (root / "v2.0" / "data" / "ng" / "c007.txt").write_text(
        "Іван7 працює в ООН у Києві і у Львові .\n", encoding="utf-8")
    assert ("іван7", "працює", "в", "оон", "у", "києві", "і", "у") in \
        ner_uk_test_shingles(root, str.split, "2.0")


def test_project_v2_workflows_never_write_the_1_0_outputs():
    from weasel.util import load_project_config
    import shutil

    copy = Path(__import__("tempfile").mkdtemp())
    shutil.copy(REPO / "project.yml", copy)
    project = load_project_config(copy)
    cmds = {c["name"]: c for c in project["commands"]}
    flows = project["workflows"]
    v1_steps = set(flows["all"]) | set(flows["compare"])
    v2_steps = (set(flows["all-v2"]) | set(flows["compare-v2"])) - v1_steps
    assert v2_steps and v1_steps & set(flows["all-v2"]) == {"lexicons"}
    v1_outputs = {o for s in v1_steps for o in cmds[s].get("outputs", [])}
    for step in v2_steps:
        outputs = cmds[step]["outputs"]
        assert all("/v2/" in o for o in outputs) and not v1_outputs & set(outputs), step
        assert "--version 2.0" in " ".join(cmds[step]["script"]) or not step.startswith(
            ("convert", "pretrain")), step
    assert any(a["dest"].endswith("v2.0") and a["git"]["path"] == "v2.0"
               for a in project["assets"])
    assert "metrics/compare/spacy_ner_accuracy.json" in cmds["compare-table"]["deps"]
