"""Tests of the evaluation report (spacy_rnn_ner.report): metrics, tables, plots, CLIs."""
import io
import json
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training.loggers import console_logger_v3

from spacy_rnn_ner.__main__ import main
from spacy_rnn_ner.report.metrics import (
    MISSED,
    SPURIOUS,
    Confusion,
    confusion_table,
    count_support,
    entity_confusion,
    error_kinds,
    ner_scores,
    per_type_table,
    select_examples,
    worst_confusions,
)
from spacy_rnn_ner.scorer import macro_average
from spacy_rnn_ner.io import read_jsonl
from spacy_rnn_ner.report.plots import plot_confusion, plot_curves, training_series

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
Ents = Sequence[Tuple[int, int, str]]  # token start, token end, label


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def make_doc(nlp, text: str, ents: Ents) -> Doc:
    """A doc of ``text`` whose entities are the given token spans (all other tokens O)."""
    doc = nlp.make_doc(text)
    spans = [doc.char_span(doc[s].idx, doc[e - 1].idx + len(doc[e - 1]), label=lab) for s, e, lab in ents]
    doc.set_ents(spans, default="outside")
    return doc


SENTS = ["Olena Petrenko lives in Kyiv .", "Taras works at Google in London ."]
GOLD: List[Ents] = [[(0, 2, "PER"), (4, 5, "LOC")], [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC")]]
# Kyiv LOC predicted as ORG (type confusion), Google missed, "works" spurious MISC.
PRED: List[Ents] = [[(0, 2, "PER"), (4, 5, "ORG")], [(0, 1, "PER"), (1, 2, "MISC"), (5, 6, "LOC")]]


@pytest.fixture
def docs(nlp) -> Tuple[List[Doc], List[Doc]]:
    gold = [make_doc(nlp, text, ents) for text, ents in zip(SENTS, GOLD)]
    pred = [make_doc(nlp, text, ents) for text, ents in zip(SENTS, PRED)]
    return gold, pred


def test_ner_scores_micro_macro_per_type(docs):
    scores = ner_scores(*docs)
    # tp = PER x2 + London = 3; fp = Kyiv/ORG + works/MISC = 2; fn = Kyiv/LOC + Google = 2
    assert scores["ents_p"] == pytest.approx(0.6)
    assert scores["ents_r"] == pytest.approx(0.6)
    assert scores["ents_f"] == pytest.approx(0.6)
    per_type = scores["ents_per_type"]
    assert list(per_type) == ["LOC", "MISC", "ORG", "PER"]
    assert per_type["PER"] == pytest.approx({"p": 1.0, "r": 1.0, "f": 1.0, "support": 2})
    assert per_type["LOC"] == pytest.approx({"p": 1.0, "r": 0.5, "f": 2 / 3, "support": 2})
    assert per_type["ORG"] == pytest.approx({"p": 0.0, "r": 0.0, "f": 0.0, "support": 1})
    assert per_type["MISC"] == pytest.approx({"p": 0.0, "r": 0.0, "f": 0.0, "support": 0})
    # macro: unweighted mean over the 4 types, differs from micro
    assert scores["ents_macro_f"] == pytest.approx((1 + 2 / 3) / 4)
    assert scores["ents_macro_p"] == pytest.approx(0.5)
    assert scores["ents_macro_r"] == pytest.approx(0.375)
    assert (scores["n_gold"], scores["n_pred"]) == (5, 5)


def test_support_and_macro_helpers(docs):
    assert count_support(docs[0]) == {"PER": 2, "LOC": 2, "ORG": 1}
    assert macro_average({"A": {"p": 1.0, "r": 0.5, "f": 0.6}, "B": {"p": 0.0, "r": 0.5, "f": 0.2}}) == pytest.approx(
        {"p": 0.5, "r": 0.5, "f": 0.4}
    )
    assert macro_average({}) == {"p": None, "r": None, "f": None}


def test_mismatched_docs_are_rejected(docs, nlp):
    gold, pred = docs
    with pytest.raises(ValueError, match="2 gold docs but 1"):
        ner_scores(gold, pred[:1])
    with pytest.raises(ValueError, match="texts differ"):
        entity_confusion(gold, [pred[1], pred[0]])


def test_confusion_counts(docs):
    confusion = entity_confusion(*docs)
    assert confusion.rows == ["LOC", "MISC", "ORG", "PER", SPURIOUS]
    assert confusion.cols == ["LOC", "MISC", "ORG", "PER", MISSED]
    assert confusion.matrix == [
        # LOC MISC ORG PER missed
        [1, 0, 1, 0, 0],  # LOC: London correct, Kyiv -> ORG
        [0, 0, 0, 0, 0],  # MISC
        [0, 0, 0, 0, 1],  # ORG: Google missed
        [0, 0, 0, 2, 0],  # PER
        [0, 1, 0, 0, 0],  # spurious: "works" MISC
    ]
    assert confusion.count("LOC", "ORG") == 1
    assert Confusion.from_dict(confusion.to_dict()) == confusion


def test_boundary_error_counts_as_missed_and_spurious(nlp):
    gold = [make_doc(nlp, "New York is big", [(0, 2, "LOC")])]
    pred = [make_doc(nlp, "New York is big", [(1, 2, "LOC")])]
    confusion = entity_confusion(gold, pred)
    assert confusion.count("LOC", MISSED) == 1
    assert confusion.count(SPURIOUS, "LOC") == 1
    assert confusion.count("LOC", "LOC") == 0
    assert ner_scores(gold, pred)["ents_f"] == pytest.approx(0.0)


def test_error_kinds_each_gold_entity_once(nlp):
    text = "New York and Old Town met Ann in Paris at noon"
    gold = [make_doc(nlp, text, [(0, 2, "LOC"), (3, 5, "LOC"), (6, 7, "PER"), (8, 9, "LOC")])]
    # New York: wrong span (York LOC); Old Town: same span ORG; Ann: exact; Paris: missed;
    # "noon": a false alarm of type MISC; "Old" alone is no false alarm (it overlaps gold)
    pred = [make_doc(nlp, text, [(1, 2, "LOC"), (3, 5, "ORG"), (6, 7, "PER"), (10, 11, "MISC")])]
    kinds = error_kinds(gold, pred)
    assert kinds["LOC"] == {"exact": 0, "wrong type": 1, "wrong span": 1, "wrong span and type": 0,
                            "missed": 1, "false alarm": 0}
    assert kinds["PER"]["exact"] == 1
    assert kinds["MISC"]["false alarm"] == 1 and sum(kinds["MISC"].values()) == 1
    pred2 = [make_doc(nlp, text, [(1, 2, "ORG")])]
    assert error_kinds(gold, pred2)["LOC"]["wrong span and type"] == 1


def test_worst_confusions_are_type_swaps_largest_first():
    labels = ["A", "B", "C"]
    matrix = [[9, 5, 1, 40], [2, 9, 0, 0], [7, 0, 9, 0], [0, 3, 0, 0]]
    assert worst_confusions(Confusion(labels, matrix)) == [("C", "A", 7), ("A", "B", 5), ("B", "A", 2)]
    assert worst_confusions(Confusion(labels, matrix), n=1) == [("C", "A", 7)]


def test_select_examples_prefers_errors_and_entities(nlp):
    texts = ["a b", "c d", "e f", "g h", "i j"]
    gold_ents = [[(0, 1, "X")], [(0, 1, "X")], [], [(1, 2, "X")], [(0, 1, "X")]]
    pred_ents = [[], [(0, 1, "X")], [], [(1, 2, "Y")], [(0, 1, "X")]]
    gold = [make_doc(nlp, t, e) for t, e in zip(texts, gold_ents)]
    pred = [make_doc(nlp, t, e) for t, e in zip(texts, pred_ents)]
    assert select_examples(gold, pred, 3) == [0, 1, 3]  # both errors + first correct
    assert select_examples(gold, pred, 1) == [0]
    assert select_examples(gold, pred, 5) == [0, 1, 2, 3, 4]
    assert select_examples(gold, pred, 4) == [0, 1, 3, 4]  # no-entity doc 2 comes last


def test_markdown_tables(docs):
    scores = ner_scores(*docs)
    table = per_type_table(scores)
    lines = table.strip().splitlines()
    assert lines[0] == "| Type | Precision | Recall | F1 | Support |"
    assert lines[1] == "| :--- | ---: | ---: | ---: | ---: |"
    assert "| LOC | 100.00 | 50.00 | 66.67 | 2 |" in lines
    assert "| PER | 100.00 | 100.00 | 100.00 | 2 |" in lines
    assert "| MISC | 0.00 | 0.00 | 0.00 | 0 |" in lines
    assert lines[-2] == "| **micro** | 60.00 | 60.00 | 60.00 | 5 |"
    assert lines[-1] == "| **macro** | 50.00 | 37.50 | 41.67 | 5 |"
    conf = confusion_table(entity_confusion(*docs)).strip().splitlines()
    assert conf[0] == "| gold \\ predicted | LOC | MISC | ORG | PER | missed |"
    assert conf[-1] == "| spurious | 0 | 1 | 0 | 0 | 0 |"


def log_record(epoch: int, step: int, losses: Dict[str, float], score: float, **scores: float) -> Dict:
    """One line as ConsoleLogger.v3 writes it (``scores`` already x100)."""
    return {"epoch": epoch, "step": step, "losses": losses, "scores": scores, "score": score}


def real_logger_lines(nlp_with_ner, path: Path, infos: List[Dict]) -> List[Dict]:
    """Write a log with spaCy's own ConsoleLogger.v3 and read it back."""
    log_step, finalize = console_logger_v3(console_output=False, output_file=path)(
        nlp_with_ner, stdout=io.StringIO(), stderr=io.StringIO()
    )
    for info in infos:
        log_step(info)
    finalize()
    return read_jsonl(path)


def test_training_series_from_real_console_logger(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    infos = [
        {"epoch": 0, "step": step, "losses": {"ner": loss}, "score": f, "other_scores": dict(ents_f=f, ents_p=f, ents_r=f)}
        for step, loss, f in [(0, 30.0, 0.0), (200, 12.0, 0.5), (400, 6.0, 0.75)]
    ]
    records = real_logger_lines(nlp, tmp_path / "log.jsonl", infos)
    assert records[1] == log_record(0, 200, {"ner": 12.0}, 0.5, ents_f=50.0, ents_p=50.0, ents_r=50.0)
    steps, losses, scores = training_series(records)
    assert steps == [0, 200, 400]
    assert losses == {"ner": [30.0, 12.0, 6.0]}
    assert scores == {"ents_f": [0.0, 50.0, 75.0]}


def test_training_series_macro_and_fallback():
    records = [
        log_record(0, 0, {"a": 1.0, "b": 2.0}, 0.1, ents_f=10.0, ents_macro_f=5.0),
        log_record(1, 10, {"a": 0.5, "b": 1.0}, 0.2, ents_f=20.0, ents_macro_f=15.0),
    ]
    assert training_series(records)[2] == {"ents_f": [10.0, 20.0], "ents_macro_f": [5.0, 15.0]}
    no_ents = [log_record(0, 0, {}, 0.9, tag_acc=90.0)]
    assert training_series(no_ents)[2] == {"score": [90.0]}


def assert_png(path: Path) -> None:
    data = Path(path).read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 2000


def test_plots_write_png(tmp_path, docs):
    assert_png(plot_confusion(entity_confusion(*docs), tmp_path / "c.png", "t"))
    records = [log_record(0, s, {"rnn_ner": 10.0 / (s + 1)}, s / 10, ents_f=s * 10.0) for s in range(4)]
    assert_png(plot_curves(records, tmp_path / "curves.png", "t"))


def write_json(path: Path, data: Dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_compare_table(tmp_path, capsys):
    a = write_json(
        tmp_path / "a.json",
        {"ents_p": 0.9, "ents_r": 0.8, "ents_f": 0.84706, "speed": 12345.6,
         "ents_per_type": {"PERS": {"p": 1, "r": 1, "f": 0.9}, "LOC": {"p": 1, "r": 1, "f": 0.7}}},
    )
    b = write_json(
        tmp_path / "b.json",
        {"ents_p": 0.5, "ents_r": 0.25, "ents_f": 0.3333, "ents_macro_f": 0.123456,
         "ents_per_type": {"ORG": {"p": 1, "r": 1, "f": 0.5}}},
    )
    out = tmp_path / "sub" / "compare.md"
    assert main(["compare", str(a), str(b), "--names", "LSTM", "spaCy-ner", "--output", str(out)]) == 0
    lines = out.read_text().strip().splitlines()
    assert "| System | P | R | F1 | Macro F1 | LOC F1 | ORG F1 | PERS F1 | Words/s |" in lines
    assert "| LSTM | 90.00 | 80.00 | 84.71 | 80.00 | 70.00 | - | 90.00 | 12346 |" in lines
    assert "| spaCy-ner | 50.00 | 25.00 | 33.33 | 12.35 | - | 50.00 | - | - |" in lines
    assert "| LSTM | 90.00" in capsys.readouterr().out
    # default names are the file stems, no speed column without speeds
    assert main(["compare", str(b)]) == 0
    printed = capsys.readouterr().out
    assert "| b | 50.00" in printed and "Words/s" not in printed


def test_compare_seeds_mean_sd_and_per_type(tmp_path, capsys):
    def run(f, org):
        return {"ents_p": f, "ents_r": f, "ents_f": f,
                "ents_per_type": {"ORG": {"p": org, "r": org, "f": org, "support": 7},
                                  "PERS": {"p": 1, "r": 0.5, "f": 2 / 3, "support": 9}}}
    files = [write_json(tmp_path / f"{i}.json", run(f, org))
             for i, (f, org) in enumerate([(0.70, 0.2), (0.72, 0.4), (0.74, 0.6), (0.5, 0.1)])]
    args = ["compare", *map(str, files), "--names", "rnn", "rnn", "rnn", "other"]
    assert main(args) == 1
    assert "--seeds" in capsys.readouterr().err  # a repeated name without --seeds is refused
    assert main(args + ["--seeds", "--by-type"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "| System | Runs | P | R | F1 | Macro F1 | ORG F1 | PERS F1 |" in lines
    assert ("| rnn | 3 | 72.00 ± 2.00 | 72.00 ± 2.00 | 72.00 ± 2.00 | 53.33 ± 10.00 | 40.00 ± 20.00 "
            "| 66.67 ± 0.00 |") in lines
    assert "| other | 1 | 50.00 | 50.00 | 50.00 | 38.33 | 10.00 | 66.67 |" in lines
    assert "| Type | rnn P / R / F1 | other P / R / F1 | Support |" in lines
    assert "| PERS | 100.00 / 50.00 / 66.67 | 100.00 / 50.00 / 66.67 | 9 |" in lines
    assert "| ORG | 40.00 / 40.00 / 40.00 | 10.00 / 10.00 / 10.00 | 7 |" in lines


def test_compare_one_source_of_report_files(tmp_path, capsys):
    def report(f_ng):
        return {"ents_p": 0.6, "ents_r": 0.6, "ents_f": 0.6, "ents_per_type": {},
                "by_source": {"ng": {"ents_p": f_ng, "ents_r": f_ng, "ents_f": f_ng,
                                     "ents_per_type": {"ORG": {"p": f_ng, "r": f_ng, "f": f_ng}}}}}
    a, b = write_json(tmp_path / "a.json", report(0.5)), write_json(tmp_path / "b.json", report(0.7))
    assert main(["compare", str(a), str(b), "--names", "x", "x", "--seeds", "--source", "ng"]) == 0
    assert "| x | 2 | 60.00 ± 14.14 | 60.00 ± 14.14 | 60.00 ± 14.14 |" in capsys.readouterr().out
    assert main(["compare", str(a), "--source", "bruk"]) == 1
    assert capsys.readouterr().err == f"error: {a}: no scores of source 'bruk' (a report JSON has them; sources here: ng)\n"


def test_compare_errors(tmp_path, capsys):
    a = write_json(tmp_path / "a.json", {"ents_p": 1.0, "ents_r": 1.0, "ents_f": 1.0, "ents_per_type": {}})
    missing = tmp_path / "nope.json"
    assert main(["compare", str(a), str(missing)]) == 1
    assert capsys.readouterr().err == f"error: {missing}: no such file\n"
    assert main(["compare", str(a), "--names", "x", "y"]) == 1
    assert "1 score files but 2 names" in capsys.readouterr().err
    # the names may also be repeated options; a directory or non-JSON file is named
    assert main(["compare", str(a), "--names", "x"]) == 0
    capsys.readouterr()
    assert main(["compare", str(a), str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path}: is a folder, expected a file\n"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["compare", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}:1: not JSON") and err.count("\n") == 1


PATTERNS = [
    {"label": "PER", "pattern": "Taras"},
    {"label": "PER", "pattern": [{"LOWER": "olena"}, {"LOWER": "petrenko"}]},
    {"label": "LOC", "pattern": "London"},
    {"label": "ORG", "pattern": "Kyiv"},  # wrong type on purpose
]


@pytest.fixture
def report_inputs(tmp_path, docs) -> Dict[str, Path]:
    """A saved entity_ruler pipeline, a gold DocBin, a spacy-evaluate JSON and a ConsoleLogger.v3 log."""
    ruler_nlp = spacy.blank("en")
    ruler_nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    ruler_nlp.to_disk(tmp_path / "model")
    gold, _ = docs
    plain = spacy.blank("en").make_doc("Nothing to see here .")
    plain.set_ents([], default="outside")
    DocBin(docs=gold + [plain]).to_disk(tmp_path / "test.spacy")
    evaluate_json = {"ents_p": 0.6, "ents_r": 0.6, "ents_f": 0.6, "speed": 4321.2, "ents_per_type": {}}
    write_json(tmp_path / "scores.json", evaluate_json)
    log_lines = [
        log_record(0, 0, {"rnn_ner": 25.5}, 0.0, ents_f=0.0, ents_p=0.0, ents_r=0.0, ents_macro_f=0.0),
        log_record(2, 200, {"rnn_ner": 7.25}, 0.615, ents_f=61.5, ents_p=70.0, ents_r=55.0, ents_macro_f=48.0),
    ]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in log_lines))
    names = {"model": "model", "data": "test.spacy", "scores": "scores.json", "log": "log.jsonl", "output": "metrics"}
    return {key: tmp_path / name for key, name in names.items()}


def run_report(paths: Dict[str, Path], *extra: str) -> int:
    argv = [item for key, path in paths.items() for item in (f"--{key}", str(path))]
    return main(["report", *argv, "--name", "ruler", *extra])


def test_report_cli_end_to_end(report_inputs, capsys):
    assert run_report(report_inputs, "--examples", "2") == 0
    out = report_inputs["output"]
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion_ruler.png", "curves_ruler.png", "examples_ruler.html", "report_ruler.json", "report_ruler.md"
    ]
    # ruler predicts exactly PRED minus the spurious "works": PER x2, London LOC, Kyiv ORG
    report = json.loads((out / "report_ruler.json").read_text())
    assert report["ents_p"] == pytest.approx(0.75)
    assert report["ents_r"] == pytest.approx(0.6)
    assert report["ents_per_type"]["LOC"] == pytest.approx({"p": 1.0, "r": 0.5, "f": 2 / 3, "support": 2})
    assert report["ents_macro_f"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert report["speed"] == pytest.approx(4321.2)
    assert report["n_docs"] == 3
    conf = Confusion.from_dict(report["confusion"])
    assert (conf.count("LOC", "ORG"), conf.count("ORG", MISSED), conf.count("PER", "PER")) == (1, 1, 2)
    md = (out / "report_ruler.md").read_text()
    assert "| LOC | 100.00 | 50.00 | 66.67 | 2 |" in md
    assert "| **micro** | 75.00 | 60.00 | 66.67 | 5 |" in md
    assert "4321 words/s" in md
    for link in ("](confusion_ruler.png)", "](curves_ruler.png)", "](examples_ruler.html)", "](report_ruler.json)"):
        assert link in md
    assert "`missed`" in md and "`spurious`" in md
    assert "Worst type confusions (gold → predicted, same span): LOC → ORG 1." in md
    assert "| ORG | 1 | 0 | 0 | 0 | 0 | 1 | 0 |" in md  # Google: missed
    assert report["error_kinds"]["LOC"]["wrong type"] == 1
    html = (out / "examples_ruler.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    # 2 examples: both sentences with errors (Kyiv as ORG; Google missed), not the one without entities
    assert html.count("gold</h2>") == 2 and "#0 predicted (errors: 1)" in html and "#1 predicted (errors: 1)" in html
    assert "Nothing to see" not in html
    assert_png(out / "confusion_ruler.png")
    assert_png(out / "curves_ruler.png")
    assert "| **macro** |" in capsys.readouterr().out
    # rp05: the plots carry the report's marker, so a rerun replaces them (a user's PNG is refused)
    assert run_report(report_inputs, "--examples", "2") == 0, capsys.readouterr().err


def test_report_cli_missing_input(report_inputs, capsys):
    report_inputs["log"] = report_inputs["log"].with_name("missing.jsonl")
    assert run_report(report_inputs) == 1
    assert str(report_inputs["log"]) in capsys.readouterr().err
    assert not report_inputs["output"].exists()


@pytest.mark.parametrize("key,content,message", [
    ("data", b"not a docbin", "not a spaCy DocBin (.spacy) file"),
    ("scores", b"speed: fast", "not JSON"),
    ("scores", b"[1, 2]", "expected a JSON object, found list"),
    ("log", bytes(range(256)), "not UTF-8 (byte 0x80 at offset 128)"),
    ("log", b'{"step": 1}\nnot json\n', "invalid JSON"),
])
def test_report_cli_bad_inputs_are_one_line_errors(report_inputs, capsys, key, content, message):
    report_inputs[key].write_bytes(content)
    assert run_report(report_inputs) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {report_inputs[key]}") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not report_inputs["output"].exists()  # checked before anything is written


# -- per-source rows and 13 types (ner-uk 2.0) ----------------------------------------

def test_scores_by_source(docs):
    from spacy_rnn_ner.report.metrics import scores_by_source, source_tables

    gold, pred = docs
    assert scores_by_source(gold, pred) == {}
    gold[0].user_data["source"], gold[1].user_data["source"] = "bruk", "ng"
    by_source = scores_by_source(gold, pred)
    assert list(by_source) == ["bruk", "ng"]
    # doc 0: PER right, Kyiv LOC -> ORG; doc 1: PER and LOC right, Google missed, MISC spurious
    assert (by_source["bruk"]["ents_p"], by_source["bruk"]["ents_r"]) == (0.5, 0.5)
    assert by_source["ng"]["ents_p"] == pytest.approx(2 / 3)
    assert by_source["ng"]["n_docs"] == 1 and by_source["ng"]["n_gold"] == 3
    report = dict(ner_scores(gold, pred), n_docs=2, by_source=by_source)
    tables = source_tables(report)
    assert "| bruk | 1 | 2 | 50.00 | 50.00 | 50.00 |" in tables
    assert "| ORG | 0.00 (1) | - | 0.00 (1) |" in tables


def png_size(path: Path) -> Tuple[int, int]:
    data = Path(path).read_bytes()
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_confusion_png_of_13_types_is_legible(tmp_path):
    labels = ["ART", "DATE", "DOC", "JOB", "LOC", "MISC", "MON", "ORG", "PCT", "PERIOD", "PERS",
              "QUANT", "TIME"]
    matrix = [[(1234 if i == j else 7 * ((i + j) % 3)) for j in range(14)] for i in range(14)]
    path = plot_confusion(Confusion(labels, matrix), tmp_path / "c13.png", "13 types")
    width, height = png_size(path)
    assert 60 <= width / 14 <= 110 and 60 <= height / 14 <= 110  # cells room for "1234"
    assert 0.8 <= width / height <= 1.3  # square cells, no stretched axis
    small = plot_confusion(Confusion(labels[:4], [row[:5] for row in matrix[:5]]),
                           tmp_path / "c4.png")
    assert png_size(small)[0] < width


def test_report_cli_rows_per_source(report_inputs, capsys):
    gold = list(DocBin().from_disk(report_inputs["data"]).get_docs(spacy.blank("en").vocab))
    for doc, source in zip(gold, ("bruk", "ng", "ng")):
        doc.user_data["source"] = source
    DocBin(docs=gold, store_user_data=True).to_disk(report_inputs["data"])
    assert run_report(report_inputs) == 0
    out = report_inputs["output"]
    report = json.loads((out / "report_ruler.json").read_text())
    assert sorted(report["by_source"]) == ["bruk", "ng"]
    assert report["by_source"]["ng"]["n_docs"] == 2
    md = (out / "report_ruler.md").read_text()
    assert "## Scores per source" in md and "| ng | 2 | 3 |" in md
    assert "| bruk | 1 | 2 |" in capsys.readouterr().out
