"""spacy_rnn_ner.io: the one module that reads and writes files."""
import os
import stat

import pytest
import spacy
from spacy.tokens import Span

from spacy_rnn_ner.errors import InputError
from spacy_rnn_ner.io import (
    AtomicFile,
    atomic_path,
    check_outputs,
    load_docbin,
    parse_json_line,
    read_docbin,
    read_json,
    read_jsonl,
    write_docbin,
)


def test_atomic_file_appears_only_when_committed(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old", encoding="utf8")
    file = AtomicFile(path, "w")
    file.write("new")
    assert path.read_text(encoding="utf8") == "old"  # not yet
    file.commit()
    assert path.read_text(encoding="utf8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_file_aborted_on_error_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with AtomicFile(path) as file:
            file.write(b"half")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_file_folder(tmp_path):
    with pytest.raises(InputError, match="output folder does not exist"):
        AtomicFile(tmp_path / "missing" / "out.bin")
    with AtomicFile(tmp_path / "made" / "out.bin", create_folder=True) as file:
        file.write(b"x")
    assert (tmp_path / "made" / "out.bin").read_bytes() == b"x"


def test_docbin_round_trip(tmp_path):
    nlp = spacy.blank("uk")
    doc = nlp("Київ є столицею України")
    doc.ents = [Span(doc, 0, 1, "LOC")]
    doc.user_data["source"] = "a.txt"
    path = write_docbin([doc], tmp_path / "sub" / "d.spacy")
    (back,) = read_docbin(path)
    assert [(e.text, e.label_) for e in back.ents] == [("Київ", "LOC")]
    assert back.user_data["source"] == "a.txt"
    assert len(load_docbin(path)) == 1


def test_not_a_docbin_names_the_file(tmp_path):
    path = tmp_path / "bad.spacy"
    path.write_bytes(b"not a docbin")
    with pytest.raises(InputError, match=r"bad\.spacy: not a spaCy DocBin"):
        read_docbin(path)
    with pytest.raises(InputError, match=r"missing\.spacy: no such file"):
        read_docbin(tmp_path / "missing.spacy")


@pytest.mark.parametrize("line,message", [
    (b'{"text": "a"', "invalid JSON"),
    (b"[1, 2]", "expected a JSON object, found list"),
    (b'{"text": "\xd2"}', "not UTF-8"),
])
def test_parse_json_line_says_why(line, message):
    with pytest.raises(InputError, match=message):
        parse_json_line(line)


def test_read_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n[3]\n', encoding="utf8")
    with pytest.raises(InputError, match=r"log\.jsonl:4: expected a JSON object"):
        read_jsonl(path)
    path.write_text('\ufeff{"a": 1}\n\n{"a": 2}\n', encoding="utf8")
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]


def test_read_json_wants_an_object(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("[1]", encoding="utf8")
    with pytest.raises(InputError, match=r"s\.json: expected a JSON object"):
        read_json(path)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_files_get_the_mode_of_a_plain_open(tmp_path, umask):
    existing = tmp_path / "existing.bin"
    existing.write_bytes(b"old")
    os.chmod(existing, 0o640)
    old = os.umask(umask)
    try:
        with open(tmp_path / "plain.bin", "wb") as f:
            f.write(b"x")
        with AtomicFile(tmp_path / "new.bin") as f:
            f.write(b"x")
        with AtomicFile(existing) as f:
            f.write(b"new")
        with atomic_path(tmp_path / "by_name.bin") as tmp:  # a library writes to the name
            tmp.unlink()
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "plain.bin") == 0o666 & ~umask
    assert mode(tmp_path / "new.bin") == mode(tmp_path / "by_name.bin") == 0o666 & ~umask
    assert mode(existing) == 0o640 and existing.read_bytes() == b"new"  # as open() keeps it


def test_atomic_path_leaves_nothing_when_interrupted(tmp_path):
    out = tmp_path / "v.floret"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(out) as tmp:
            tmp.write_bytes(b"400000 100\nhalf")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_check_outputs_one_rule(tmp_path, monkeypatch):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "in.txt").write_text("x", encoding="utf8")
    os.link(tmp_path / "in.txt", tmp_path / "link.txt")
    monkeypatch.chdir(tmp_path)
    assert check_outputs(["out.txt", None, "report.md"], ["in.txt", None]) == \
        [type(tmp_path)("out.txt"), type(tmp_path)("report.md")]
    for outputs, inputs, folders, message in [
        (["link.txt"], ["in.txt"], [], "link.txt: output would overwrite the input in.txt"),
        (["corpus/x.ann"], ["corpus"], [], "corpus/x.ann: output would be written inside the "
                                           "input folder corpus, which the command reads"),
        (["a.tsv", "./a.tsv"], [], [], "a.tsv: output would overwrite another output of the "
                                       "same run, a.tsv"),
        ([], ["in.txt"], ["in.txt"], "in.txt: output would overwrite the input in.txt"),
        (["vec"], [], ["vec"], "vec: output would overwrite another output of the same run, vec"),
        (["corpus"], [], [], "corpus: is a folder, expected a file name to write"),
        (["in.txt/x"], [], [], "in.txt: is a file, expected a folder"),
        ([], [], ["in.txt"], "in.txt: is a file, expected a folder"),
    ]:
        with pytest.raises(InputError) as caught:
            check_outputs(outputs, inputs, folders)
        assert str(caught.value) == message
    assert not (tmp_path / "out.txt").exists() and not (tmp_path / "vec").exists()  # creates nothing
