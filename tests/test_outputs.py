"""How outputs appear (spacy_rnn_ner.outputs, issue 28): a file or folder complete or not at
all, also when the move into place is interrupted; all outputs of a command together, so
an interrupted run leaves the previous set, never a mix; a link written through; an
output folder replaced as a whole only when it is new, empty or an earlier output."""
import json
import os
import re
import signal
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span

from spacy_rnn_ner import outputs
from spacy_rnn_ner.__main__ import main
from spacy_rnn_ner.io import read_docbin
from spacy_rnn_ner.outputs import AtomicFile, atomic_folder, atomic_output, outputs_together


def names(folder: Path):
    return sorted(p.name for p in folder.iterdir())


def test_an_interrupt_while_moving_into_place_leaves_no_temporary_file(tmp_path, monkeypatch):
    out = tmp_path / "out.txt"
    out.write_text("before", encoding="utf8")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(out) as f:
            f.write("after")
    assert names(tmp_path) == ["out.txt"] and out.read_text(encoding="utf8") == "before"
    file = AtomicFile(out, "w")
    file.write("x")
    with pytest.raises(KeyboardInterrupt):
        file.commit()  # the commit itself aborts
    assert names(tmp_path) == ["out.txt"]


def test_outputs_of_one_run_appear_together_or_not_at_all(tmp_path):
    for name in ("train", "dev", "test"):
        (tmp_path / f"{name}.txt").write_text("old", encoding="utf8")
    with pytest.raises(KeyboardInterrupt):
        with outputs_together():
            for name in ("train", "dev"):
                with atomic_output(tmp_path / f"{name}.txt") as f:
                    f.write("new")
            assert (tmp_path / "train.txt").read_text(encoding="utf8") == "old"  # waits
            raise KeyboardInterrupt
    assert names(tmp_path) == ["dev.txt", "test.txt", "train.txt"]
    assert {(tmp_path / n).read_text(encoding="utf8") for n in names(tmp_path)} == {"old"}
    with outputs_together():
        for name in ("train", "dev", "test"):
            with atomic_output(tmp_path / f"{name}.txt") as f:
                f.write("new")
    assert {(tmp_path / n).read_text(encoding="utf8") for n in names(tmp_path)} == {"new"}
    assert names(tmp_path) == ["dev.txt", "test.txt", "train.txt"]


@pytest.mark.parametrize("together", [True, False], ids=["in-outputs-together", "alone"])
@pytest.mark.parametrize("make", ["mkstemp", "mkdtemp"])
def test_ctrl_c_right_after_the_temporary_output_is_made_leaves_nothing(make, together, tmp_path, monkeypatch):
    """probe 5 i09 (and i03b): Ctrl-C between ``mkstemp`` and the moment the temporary file
    can be removed (the object that owns it did not exist yet) left an empty temp file."""
    real = getattr(outputs.tempfile, make)

    def make_then_interrupt(*args, **kwargs):
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C the moment the file exists
        return made

    monkeypatch.setattr(outputs.tempfile, make, make_then_interrupt)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        if together:
            with outputs_together():
                AtomicFile(out, "w") if make == "mkstemp" else outputs.AtomicFolder(out)
        elif make == "mkstemp":
            AtomicFile(out, "w")
        else:
            outputs.AtomicFolder(out)
    assert names(tmp_path) == []


def test_ctrl_c_before_annotate_writes_removes_its_temporary_output(tmp_path, capsys, monkeypatch):
    """probe 5 i03b: Ctrl-C after annotate's output file was opened, before the loop that
    aborts it on an error (here: while the workers start), left an empty temp file."""
    from contextlib import contextmanager

    from conftest import TRAIN_DATA, build_nlp, make_examples
    from spacy_rnn_ner.annotate import local

    nlp = build_nlp()
    nlp.initialize(lambda: make_examples(nlp))
    nlp.to_disk(tmp_path / "model")
    (tmp_path / "in.txt").write_text(TRAIN_DATA[0][0] + "\n", encoding="utf8")

    @contextmanager
    def interrupted_start(enabled=True):
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr(local, "quiet_workers", interrupted_start)
    monkeypatch.chdir(tmp_path)
    assert main(["annotate", "model", "in.txt", "o.jsonl", "--n-process", "2"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted: no output written"
    assert names(tmp_path) == ["in.txt", "model"]


def test_an_interrupt_during_the_moves_waits_until_all_are_in_place(tmp_path, monkeypatch):
    real_replace = os.replace
    sent = []

    def replace_then_interrupt(src, dst):
        if not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C between the first and second move
        real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        with outputs_together():
            for name in ("a", "b"):
                with atomic_output(tmp_path / f"{name}.txt") as f:
                    f.write("new")
    assert names(tmp_path) == ["a.txt", "b.txt"]  # both moved, then the interrupt


def test_a_link_is_written_through(tmp_path, capsys, monkeypatch):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "t.md").write_text("# NER systems compared (an earlier run)\n", encoding="utf8")
    os.symlink("runs/t.md", tmp_path / "latest.md")
    (tmp_path / "s.json").write_text('{"ents_f": 0.5}', encoding="utf8")
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "s.json", "--output", "latest.md"]) == 0
    assert (tmp_path / "latest.md").is_symlink()
    assert "50.00" in (tmp_path / "runs" / "t.md").read_text(encoding="utf8")
    assert names(tmp_path / "runs") == ["t.md"]


def test_atomic_folder_replaces_the_folder_whole_or_not_at_all(tmp_path):
    out = tmp_path / "vec"
    out.mkdir()
    (out / "old.txt").write_text("old", encoding="utf8")
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(out) as folder:
            (folder / "new.txt").write_text("new", encoding="utf8")
            raise KeyboardInterrupt
    assert names(tmp_path) == ["vec"] and names(out) == ["old.txt"]
    with atomic_folder(out) as folder:
        (folder / "new.txt").write_text("new", encoding="utf8")
    assert names(tmp_path) == ["vec"] and names(out) == ["new.txt"]


def earlier_vectors_output(folder: Path) -> None:
    """What an earlier ``vectors-import`` left: a pipeline without components."""
    spacy.blank("uk").to_disk(folder)


def fake_init_vectors(interrupt: bool):
    def init_vectors(lang, vectors, output, prune=-1, truncate=0, mode="default"):
        Path(output, "meta.json").write_text(json.dumps({"pipeline": [], "vectors": {"new": True}}),
                                             encoding="utf8")
        Path(output, "config.cfg").write_text("[nlp]\n", encoding="utf8")
        if interrupt:
            raise KeyboardInterrupt  # half-way: spaCy has written part of the folder
    return init_vectors


def test_vectors_import_replaces_its_earlier_output_and_an_interrupt_leaves_it(tmp_path, capsys, monkeypatch):
    from spacy_rnn_ner.resources import pretrained_vectors

    (tmp_path / "v.vec").write_text("a 1 2\nb 3 4\n", encoding="utf8")
    earlier_vectors_output(tmp_path / "vec")
    before = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "vec").rglob("*") if p.is_file()}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pretrained_vectors, "init_vectors", fake_init_vectors(interrupt=True))
    assert main(["vectors-import", "v.vec", "vec"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: stopped by signal 2"
    assert names(tmp_path) == ["v.vec", "vec"]  # no temporary folder
    assert {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "vec").rglob("*") if p.is_file()} == before
    monkeypatch.setattr(pretrained_vectors, "init_vectors", fake_init_vectors(interrupt=False))
    assert main(["vectors-import", "v.vec", "vec"]) == 0, capsys.readouterr().err
    assert names(tmp_path) == ["v.vec", "vec"] and names(tmp_path / "vec") == ["config.cfg", "meta.json"]
    assert json.loads((tmp_path / "vec" / "meta.json").read_text(encoding="utf8"))["vectors"] == {"new": True}


def small_ner_uk(root: Path) -> None:
    (root / "data").mkdir(parents=True)
    names_ = [f"d{i}" for i in range(6)]
    (root / "dev-test-split.txt").write_text("DEV\n" + "\n".join(names_[:4]) + "\nTEST\n"
                                             + "\n".join(names_[4:]) + "\n", encoding="utf8")
    for name in names_:
        (root / "data" / f"{name}.tok.txt").write_text(f"Київ {name} .\n", encoding="utf8")
        (root / "data" / f"{name}.tok.ann").write_text("T1\tLOC 0 4\tКиїв\n", encoding="utf8")


def test_an_interrupted_conversion_leaves_the_previous_set(tmp_path, capsys, monkeypatch):
    from spacy_rnn_ner import io

    small_ner_uk(tmp_path / "ner")
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "ner-uk", "ner", "out", "--seed", "1", "--dev-fraction", "0.5"]) == 0
    before = {name: (tmp_path / "out" / name).read_bytes() for name in names(tmp_path / "out")}
    real_write = io.write_docbin

    def interrupted_at_dev(docs, path):
        if Path(path).name == "dev.spacy":
            raise KeyboardInterrupt  # train.spacy of the new run is written
        return real_write(docs, path)

    monkeypatch.setattr(io, "write_docbin", interrupted_at_dev)
    capsys.readouterr()
    assert main(["convert", "ner-uk", "ner", "out", "--seed", "2", "--dev-fraction", "0.5",
                 "--issues-file", "out/issues.tsv"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: stopped by signal 2"
    assert {name: (tmp_path / "out" / name).read_bytes() for name in names(tmp_path / "out")} == before
    train = {d.user_data["name"] for d in read_docbin(tmp_path / "out" / "train.spacy")}
    dev = {d.user_data["name"] for d in read_docbin(tmp_path / "out" / "dev.spacy")}
    assert train and dev and not train & dev  # one run's split, no leak


def test_a_failed_command_writes_none_of_its_outputs(tmp_path, capsys, monkeypatch):
    """An error after the first of several outputs was written (here: the issues file
    cannot be written) leaves none of them."""
    nlp = spacy.blank("uk")
    doc = Doc(nlp.vocab, words=["Київ", "є"])
    doc.ents = [Span(doc, 0, 1, "LOC")]
    DocBin(docs=[doc]).to_disk(tmp_path / "in.spacy")
    monkeypatch.chdir(tmp_path)
    from spacy_rnn_ner.converters import report

    def cannot_write(self, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(report.ConversionReport, "write_issues", cannot_write)
    assert main(["convert", "to-nemo", "in.spacy", "out", "--issues-file", "i.tsv"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: i.tsv: No space left on device"
    assert names(tmp_path) == ["in.spacy", "out"] and names(tmp_path / "out") == []


# ------------------------------------------------------------ an existing file of another kind


def _docbin_bytes() -> bytes:
    nlp = spacy.blank("uk")
    doc = Doc(nlp.vocab, words=["Київ", "є"])
    doc.ents = [Span(doc, 0, 1, "LOC")]
    return DocBin(docs=[doc]).to_bytes()


FLORET_HEAD = b"100 4 3 5 2 2166136261 < >\n0 0.1 0.2 0.3 0.4\n"
TABLE = "| System | F1 |\n| :--- | ---: |\n| a | 50.00 |\n".encode()


@pytest.mark.parametrize("kind_name,own,other,holds", [
    ("DOCBIN", "docbin", b"\xd0\x9a B-LOC\n", "text"),
    ("FLORET", FLORET_HEAD, b"some words\n", "text"),
    ("JSON", b'{"ents_f": 0.5}\n', b'{"a": 1}\n{"b": 2}\n', "JSON lines"),
    ("MARKDOWN", TABLE, "Тарас\nКиїв\n".encode(), "text"),
    ("JSON_LINES", b'{"text": "x"}\n', "docbin", "a spaCy DocBin"),
    ("ISSUES", b"action\tkind\tlabel\tpath\tline\tmessage\n", TABLE, "Markdown"),
    ("TEXT", b"a b c\n", bytes(range(256)), "binary data"),
], ids=["docbin", "floret", "json", "markdown", "json-lines", "issues", "text"])
def test_an_output_replaces_its_own_kind_only(kind_name, own, other, holds, tmp_path):
    from spacy_rnn_ner import file_kinds
    from spacy_rnn_ner.errors import InputError
    from spacy_rnn_ner.io import OutputFile, check_outputs

    kind = getattr(file_kinds, kind_name)
    name = "out" + (kind.suffixes[0] if kind.suffixes else ".txt")
    path = tmp_path / name
    for content in (b"", _docbin_bytes() if own == "docbin" else own):  # empty, or a rerun
        path.write_bytes(content)
        check_outputs([OutputFile(path, kind)])
    path.write_bytes(_docbin_bytes() if other == "docbin" else other)
    with pytest.raises(InputError, match=re.escape(f"holds {holds}, not {kind.name}")):
        check_outputs([OutputFile(path, kind)])
    assert path.read_bytes() == (_docbin_bytes() if other == "docbin" else other)


def test_a_rerun_replaces_its_own_outputs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a.conll").write_text("Київ B-LOC\nє O\n", encoding="utf8")
    Path("s.json").write_text('{"ents_f": 0.5}', encoding="utf8")
    for _ in range(2):
        assert main(["convert", "conll", "a.conll", "o.spacy", "--issues-file", "i.tsv"]) == 0
        assert main(["compare", "s.json", "--output", "t.md"]) == 0
    assert len(read_docbin("o.spacy")) == 1


def test_reruns_replace_their_own_markdown_and_json_only(tmp_path, capsys, monkeypatch):
    """Probe 3 (p11, l09, d05, vi08): a command's Markdown starts with its marker comment
    and replaces a file that does (or that starts as the command's table did before the
    marker); its JSON replaces an object with the keys it writes. Anything else is the
    user's and is kept."""
    monkeypatch.chdir(tmp_path)
    Path("s.json").write_text('{"ents_f": 0.5}', encoding="utf8")
    Path("geo.txt").write_text("київ\n", encoding="utf8")
    Path("v.vec").write_text("a 1 2\nb 3 4\n", encoding="utf8")
    nlp = spacy.blank("uk")
    doc = Doc(nlp.vocab, words=["Київ", "є"])
    doc.ents = [Span(doc, 0, 1, "LOC")]
    DocBin(docs=[doc]).to_disk("d.spacy")
    Path("old.md").write_text("# NER systems compared\n\n| System | F1 |\n", encoding="utf8")  # before the marker
    runs = [["compare", "s.json", "--output", "t.md"], ["compare", "s.json", "--output", "old.md"],
            ["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "none", "--output", "c.md"],
            ["vectors-import", "v.vec", "vec", "--record", "r.json"]]
    for _ in range(2):
        for argv in runs:
            assert main(argv) == 0, capsys.readouterr().err
    assert Path("t.md").read_text(encoding="utf8").startswith("<!-- spacy-rnn-ner: compare -->\n\n# NER")
    assert Path("old.md").read_text(encoding="utf8").startswith("<!-- spacy-rnn-ner: compare -->")
    assert Path("c.md").read_text(encoding="utf8").startswith("<!-- spacy-rnn-ner: lexicon-coverage -->\n\n| feature")
    assert json.loads(Path("r.json").read_text(encoding="utf8"))["source"] == "v.vec"
    # one command's output is not another's
    assert main(["compare", "s.json", "--output", "c.md"]) == 1
    assert "c.md: holds Markdown, not an earlier output of compare (Markdown)" in capsys.readouterr().err
    assert Path("c.md").read_text(encoding="utf8").startswith("<!-- spacy-rnn-ner: lexicon-coverage -->")


def test_markdown_cells_holding_a_pipe_are_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a.json").write_text('{"ents_f": 0.5}', encoding="utf8")
    assert main(["compare", "a.json", "--names", "A|B", "--output", "t.md"]) == 0
    rows = [line for line in Path("t.md").read_text(encoding="utf8").splitlines() if line.startswith("|")]
    cells = [len(line.replace("\\|", "").split("|")) for line in rows]
    assert len(set(cells)) == 1 and "| A\\|B |" in rows[-1]


def test_a_record_inside_an_earlier_vectors_folder_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    """The folder is replaced as a whole: --record inside it would be lost (or, before, the
    error named a temporary file and the new folder was left although the run failed)."""
    earlier_vectors_output(tmp_path / "vec")
    (tmp_path / "v.vec").write_text("a 1 2\nb 3 4\n", encoding="utf8")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["vectors-import", "v.vec", "vec", "--record", "vec/r.json"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: vec/r.json: output would be written inside the output folder vec, which is replaced as a "
        "whole (it would be lost); give a path outside it")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
