"""annotate: formats, metadata, confidences, bad lines, atomic output, n_process, Ray."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin

from conftest import TRAIN_DATA, ents_of
from spacy_rnn_ner.io import read_jsonl
from spacy_rnn_ner.annotate.local import AnnotateError, annotate_file, read_records

TEXTS = [text for text, _ in TRAIN_DATA]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, trained_lstm):
    path = tmp_path_factory.mktemp("annotate") / "model"
    trained_lstm.to_disk(path)
    return path


def expected_entities(nlp, text):
    return [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents]


def test_text_lines_to_jsonl(tmp_path, trained_lstm):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS[:3] + [""] + TEXTS[3:]) + "\n", encoding="utf8")
    out = tmp_path / "out.jsonl"
    summary = annotate_file(trained_lstm, src, out, batch_size=2)
    rows = read_jsonl(out)
    assert [row["text"] for row in rows] == TEXTS[:3] + [""] + TEXTS[3:]
    for row in rows:
        assert [(e["start"], e["end"], e["label"]) for e in row["entities"]] == expected_entities(trained_lstm, row["text"])
        for ent in row["entities"]:
            assert row["text"][ent["start"]:ent["end"]] == ent["text"]
            assert 0.0 < ent["confidence"] <= 1.0
    assert summary.documents == len(TEXTS) + 1
    assert summary.entities == {"PERS": 3, "LOC": 4, "ORG": 2, "MISC": 1}
    assert summary.tokens == sum(len(trained_lstm.make_doc(t)) for t in TEXTS)
    assert summary.skipped == 0


def test_jsonl_metadata_and_bad_lines(tmp_path, trained_lstm):
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"text": TEXTS[0], "id": 7, "meta": {"src": "a"}}, ensure_ascii=False) + "\n"
        + '{"text": broken\n'
        + '{"id": 3}\n'
        + "\n"
        + json.dumps({"id": 8, "text": TEXTS[1]}, ensure_ascii=False) + "\n",
        encoding="utf8",
    )
    out = tmp_path / "out.jsonl"
    with pytest.raises(AnnotateError, match=r"in\.jsonl:2: invalid JSON"):
        annotate_file(trained_lstm, src, out)
    assert not out.exists() and list(tmp_path.iterdir()) == [src]  # no output, no temp file left

    reported = []
    summary = annotate_file(trained_lstm, src, out, skip_bad_lines=True, report=reported.append)
    assert [line.split(": ")[0] for line in reported] == [f"{src}:2", f"{src}:3"]
    assert 'no string "text" field' in reported[1]
    assert summary.skipped == 2 and summary.blank_lines == 1 and summary.documents == 2
    rows = read_jsonl(out)
    assert [(r["id"], r["text"]) for r in rows] == [(7, TEXTS[0]), (8, TEXTS[1])]
    assert rows[0]["meta"] == {"src": "a"}


def test_directory_and_docbin_inputs_keep_tokens(tmp_path, trained_lstm):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text(TEXTS[1], encoding="utf8")
    (folder / "sub" / "a.txt").write_text(TEXTS[0], encoding="utf8")
    (folder / "skip.md").write_text("not read", encoding="utf8")
    out = tmp_path / "dir.jsonl"
    annotate_file(trained_lstm, folder, out)
    rows = read_jsonl(out)
    assert [(r["file"], r["text"]) for r in rows] == [("b.txt", TEXTS[1]), ("sub/a.txt", TEXTS[0])]

    # DocBin in: tokenization kept, gold entities dropped; DocBin out holds ents + scores
    words = ["Тарас", "Шевченко", "народився", "в", "Моринцях", "."]
    gold = Doc(trained_lstm.vocab, words=words, ents=["B-ORG", "I-ORG", "O", "O", "O", "O"])
    src = tmp_path / "in.spacy"
    DocBin(docs=[gold]).to_disk(src)
    out_bin = tmp_path / "out.spacy"
    annotate_file(trained_lstm, src, out_bin)
    (doc,) = DocBin().from_disk(out_bin).get_docs(spacy.blank("uk").vocab)
    assert [t.text for t in doc] == words
    assert ents_of(doc) == ents_of(trained_lstm(Doc(trained_lstm.vocab, words=words)))
    assert len(doc.spans["rnn_ner"].attrs["scores"]) == len(doc.ents)


def test_parquet_round_trip(tmp_path, trained_lstm):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": TEXTS[:2], "id": [1, 2]}), src)
    out = tmp_path / "out.parquet"
    annotate_file(trained_lstm, src, out)
    rows = pq.read_table(out).to_pylist()
    assert [json.loads(r["meta"]) for r in rows] == [{"id": 1}, {"id": 2}]
    assert [[(e["start"], e["end"], e["label"]) for e in r["entities"]] for r in rows] == [
        expected_entities(trained_lstm, t) for t in TEXTS[:2]
    ]


def test_own_parquet_output_round_trips_its_metadata(tmp_path, trained_lstm):
    """probe 4 an16: annotate's own Parquet (metadata packed in a JSON column ``meta``) read
    back gives the user's keys as written (``"id": 7``), not ``"meta": "{\\"id\\": 7}"``;
    the earlier outputs are replaced on a rerun."""
    pytest.importorskip("pyarrow.parquet")
    from spacy.tokens import DocBin

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": TEXTS[0], "id": 7}, ensure_ascii=False) + "\n", encoding="utf8")
    first = tmp_path / "o.parquet"
    for _ in range(2):  # the second run replaces the first one's output
        annotate_file(trained_lstm, src, first)
    again = tmp_path / "o2.jsonl"
    for _ in range(2):
        annotate_file(trained_lstm, first, again)
    record = json.loads(again.read_text(encoding="utf8"))
    assert record["id"] == 7 and "meta" not in record
    assert [e["label"] for e in record["input_entities"]] == [e["label"] for e in record["entities"]]
    annotate_file(trained_lstm, first, tmp_path / "o2.spacy")
    doc = next(DocBin().from_disk(tmp_path / "o2.spacy").get_docs(trained_lstm.vocab))
    assert doc.user_data["id"] == 7 and "meta" not in doc.user_data


def test_own_docbin_output_is_marked_replaced_and_read_back_without_the_marker(tmp_path, trained_lstm):
    """probe 5 o02: every document of annotate's DocBin carries ``spacy_rnn_ner.annotate``;
    a rerun replaces that DocBin, a user's DocBin is refused, and the marker does not come
    back as metadata when the output is annotated again."""
    from spacy.tokens import DocBin
    from spacy_rnn_ner.file_kinds import ANNOTATE_DOC_KEY

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": TEXTS[0], "id": 7}, ensure_ascii=False) + "\n", encoding="utf8")
    out = tmp_path / "o.spacy"
    for _ in range(2):  # the second run replaces the first one's output
        annotate_file(trained_lstm, src, out)
    doc = next(DocBin().from_disk(out).get_docs(trained_lstm.vocab))
    assert doc.user_data[ANNOTATE_DOC_KEY] is True and doc.user_data["id"] == 7
    again = tmp_path / "o2.jsonl"
    annotate_file(trained_lstm, out, again)
    assert ANNOTATE_DOC_KEY not in json.loads(again.read_text(encoding="utf8"))
    gold = tmp_path / "train.spacy"
    DocBin(docs=[trained_lstm.make_doc(TEXTS[0])], store_user_data=True).to_disk(gold)
    with pytest.raises(AnnotateError, match="not an earlier output of annotate"):
        annotate_file(trained_lstm, src, gold)


def test_bad_paths(tmp_path, trained_lstm):
    src = tmp_path / "in.txt"
    src.write_text(TEXTS[0], encoding="utf8")
    with pytest.raises(AnnotateError, match="no such file"):
        annotate_file(trained_lstm, tmp_path / "missing.txt", tmp_path / "o.jsonl")
    with pytest.raises(AnnotateError, match="output must end in"):
        annotate_file(trained_lstm, src, tmp_path / "o.csv")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(TEXTS[0].encode("utf8") + b"\n\xff\xfe\n")
    with pytest.raises(AnnotateError, match=r"latin1\.txt:2: not UTF-8"):
        annotate_file(trained_lstm, bad, tmp_path / "o.jsonl")


def test_interrupt_leaves_previous_output(tmp_path, trained_lstm):
    out = tmp_path / "out.jsonl"
    out.write_text('{"text": "previous", "entities": []}\n', encoding="utf8")  # an earlier run's output
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": TEXTS[0]}) + "\n{x\n" + json.dumps({"text": TEXTS[1]}) + "\n", encoding="utf8")

    def interrupt(line):  # raised mid-run (after the first document), like Ctrl-C
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        annotate_file(trained_lstm, src, out, skip_bad_lines=True, report=interrupt)
    assert out.read_text(encoding="utf8") == '{"text": "previous", "entities": []}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # temp file removed
    assert len(list(read_records(src))) == 3


def test_n_process_equals_single(tmp_path, model_dir):
    nlp = spacy.load(model_dir)
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS * 3), encoding="utf8")
    annotate_file(nlp, src, tmp_path / "one.jsonl", batch_size=2)
    annotate_file(nlp, src, tmp_path / "two.jsonl", batch_size=2, n_process=2)
    assert (tmp_path / "one.jsonl").read_text() == (tmp_path / "two.jsonl").read_text()


@pytest.mark.slow  # two CLI subprocesses, each loading the pipeline
def test_cli_summary_and_exit_status(tmp_path, model_dir):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": TEXTS[0]}) + "\nnot json\n", encoding="utf8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "spacy_rnn_ner", "annotate", str(model_dir), str(src), str(tmp_path / "o.jsonl")]
    failed = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert failed.returncode == 1 and "in.jsonl:2: invalid JSON" in failed.stdout + failed.stderr
    assert not (tmp_path / "o.jsonl").exists()
    done = subprocess.run(cmd + ["--skip-bad-lines"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "in.jsonl:2: invalid JSON" in done.stderr and "(skipped)" in done.stderr
    for word in ("documents", "tokens", "PERS", "words/s", "bad lines skipped"):
        assert word in done.stdout
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 1


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ray_engine_equals_single_process(tmp_path, model_dir):
    pytest.importorskip("ray.data")
    from spacy_rnn_ner.annotate.ray import annotate_file_ray

    nlp = spacy.load(model_dir)
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"text": t, "n": i}, ensure_ascii=False) for i, t in enumerate(TEXTS * 4)]
    lines.insert(5, "{oops")
    src.write_text("\n".join(lines) + "\n", encoding="utf8")
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, text in enumerate(TEXTS):
        (folder / f"{i}.txt").write_text(text, encoding="utf8")
    cases = [(src, "jsonl"), (folder, "jsonl"), (src, "parquet")]
    for inp, ext in cases:
        single, ray_out = tmp_path / f"single.{ext}", tmp_path / f"ray.{ext}"
        s1 = annotate_file(nlp, inp, single, batch_size=3, skip_bad_lines=True, report=lambda _: None)
        s2 = annotate_file_ray(model_dir, inp, ray_out, batch_size=3, concurrency=1, skip_bad_lines=True,
                               report=lambda _: None)
        assert (s2.documents, s2.tokens, s2.entities, s2.skipped) == (s1.documents, s1.tokens, s1.entities, s1.skipped)
        if ext == "jsonl":
            assert ray_out.read_text(encoding="utf8") == single.read_text(encoding="utf8")
        else:
            import pyarrow.parquet as pq

            assert pq.read_table(ray_out).to_pylist() == pq.read_table(single).to_pylist()
    with pytest.raises(AnnotateError, match=r"in\.jsonl:6: invalid JSON"):
        annotate_file_ray(model_dir, src, tmp_path / "fail.jsonl", batch_size=3, concurrency=1)
    assert not (tmp_path / "fail.jsonl").exists()
