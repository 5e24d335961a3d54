"""Bad inputs to every command (issue 18): a clear one-line ``error: ...`` (or usage error)
and exit status 1, no traceback, nothing overwritten, nothing lost, no hang.

``CASES`` is the table: files made in a scratch folder, the command line (run in that
folder, so messages hold relative paths), the exact last line of stderr, the status.
"""
import codecs
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span

from conftest import TRAIN_DATA, build_nlp, make_examples
from spacy_rnn_ner.__main__ import main
from spacy_rnn_ner.errors import InputError
from spacy_rnn_ner.io import read_docbin

ROOT = Path(__file__).resolve().parent.parent
BOM = codecs.BOM_UTF8
TEXT = TRAIN_DATA[0][0]
NER_UK_SPLIT = "DEV\ntrain_doc.tok\n\nTEST\ntest_doc.tok\n"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny initialized (untrained) pipeline on disk."""
    nlp = build_nlp()
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    path = tmp_path_factory.mktemp("bad_inputs") / "model"
    nlp.to_disk(path)
    return path


def env() -> Dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                OMP_NUM_THREADS="1")


def docbin(path: Path, label: str = "LOC", words=("Нью-Йорк", "є", "містом")) -> None:
    nlp = spacy.blank("uk")
    doc = Doc(nlp.vocab, words=list(words))
    doc.ents = [Span(doc, 0, 1, label)]
    DocBin(docs=[doc]).to_disk(path)


def ner_uk(root: Path) -> None:
    (root / "data").mkdir(parents=True)
    (root / "dev-test-split.txt").write_text(NER_UK_SPLIT, encoding="utf8")
    (root / "data" / "test_doc.tok.txt").write_text("Тарас Шевченко народився .", encoding="utf8")
    (root / "data" / "train_doc.tok.txt").write_text("Київ .", encoding="utf8")


def ner_uk_v2(root: Path, ann: str, docs: Dict[str, str] = None) -> None:
    """A ner-uk 2.0 corpus at ``root/v2.0``: document d1 in bruk/ with ``ann``, a TEST
    document t1, and ``docs`` (``{"source/ID.suffix": content}``) beside them."""
    data = root / "v2.0" / "data"
    for source in ("bruk", "ng"):
        (data / source).mkdir(parents=True, exist_ok=True)
    (data / "bruk" / "d1.txt").write_text("Київ є містом .\n", encoding="utf8")
    (data / "bruk" / "d1.ann").write_text(ann + "\n", encoding="utf8")
    (data / "ng" / "t1.txt").write_text("Львів теж .\n", encoding="utf8")
    (data / "ng" / "t1.ann").write_text("T1\tLOC\t0\t5\tЛьвів\n", encoding="utf8")
    for name, content in (docs or {}).items():
        (data / name).write_text(content, encoding="utf8")
    names = ["d1"] + sorted({Path(n).stem for n in docs or {}} - {"t1", "d1"})
    (data / "dev-test-split.txt").write_text("DEV\n" + "\n".join(names) + "\nTEST\nt1\n", encoding="utf8")


V2_LABELS = "ART, DATE, DOC, JOB, LOC, MISC, MON, ORG, PCT, PERIOD, PERS, QUANT, TIME"


def model_copy(model: Path, dest: Path, damage: Callable[[Path], None]) -> None:
    import shutil

    shutil.copytree(model, dest)
    damage(dest)


# files: name -> bytes, or a function of (folder, model_dir) that makes them
Setup = Callable[[Path, Path], None]


def files(**contents: bytes) -> Setup:
    def make(folder: Path, model: Path) -> None:
        for name, data in contents.items():
            path = folder / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return make


def both(*setups: Setup) -> Setup:
    def make(folder: Path, model: Path) -> None:
        for setup in setups:
            setup(folder, model)
    return make


def made(fn: Callable[[Path], None]) -> Setup:
    return lambda folder, model: fn(folder)


def with_model(name: str, damage: Optional[Callable[[Path], None]] = None) -> Setup:
    return lambda folder, model: model_copy(model, folder / name, damage or (lambda p: None))


def fifo(name: str) -> Setup:
    """A named pipe ``name`` (nobody writes to it: reading it would block)."""
    return made(lambda f: os.mkfifo(f / name))


def link(name: str, target: str) -> Setup:
    """A symbolic link ``name`` -> ``target`` (relative to the link's folder)."""
    def make(folder: Path, model: Path) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, folder / name)
    return make


def unannotated_docbin(path: Path) -> None:
    """A DocBin of one document without NER annotation (no token has an entity tag)."""
    nlp = spacy.blank("uk")
    DocBin(docs=[nlp("Київ є містом")]).to_disk(path)


UTF16LE = "Київ є містом\nЛьвів теж\n".encode("utf-16-le")  # no BOM: NUL after each ASCII byte
CONLL_UTF16LE = "Київ B-LOC\nє O\n".encode("utf-16-le")
RUN_ID = b"run123\n"


UTF8 = TEXT.encode("utf8") + b"\n"
CP1251 = "Київ є містом".encode("cp1251") + b"\n"
CONLL = "Київ B-LOC\nє O\n".encode("utf8")
DAMAGED_CKPT = b"PK\x03\x04 not really a zip"
HUGE_LINE = b"a" * 1_000_001 + b"\n"
NOTES_MD = b"# My notes\n\nWritten by hand.\n\n| a | b |\n| - | - |\n| 1 | 2 |\n"
EVALUATE_JSON = b'{"token_acc": 1.0, "ents_p": 0.5, "ents_r": 0.5, "ents_f": 0.5, "speed": 100.0}\n'

CASES = [
    # (id, files, argv, last stderr line, status)
    # --- output over input: every command that writes refuses it
    ("annotate-out-is-in", files(**{"in.jsonl": b'{"text": "x"}\n'}),
     ["annotate", "model", "in.jsonl", "in.jsonl"],
     "error: in.jsonl: output would overwrite the input in.jsonl", 1),
    ("pretrain-text-out-in-raw", both(files(**{"raw/b.txt": UTF8}), made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "raw/b.txt"],
     "error: raw/b.txt: output would be written inside the input folder raw, which the "
     "command reads", 1),
    ("pretrain-text-report-is-in", both(files(**{"raw/b.txt": UTF8}), made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "out.txt", "--report", "ner/dev-test-split.txt"],
     "error: ner/dev-test-split.txt: output would be written inside the input folder ner, "
     "which the command reads", 1),
    ("vectors-out-is-in", files(**{"t.txt": UTF8}), ["vectors", "t.txt", "t.txt"],
     "error: t.txt: output would overwrite the input t.txt", 1),
    ("char-lm-out-is-in", files(**{"t.txt": UTF8}), ["train-char-lm", "t.txt", "t.txt", "--max-steps", "1"],
     "error: t.txt: output would overwrite the input t.txt", 1),
    ("conll-out-is-in", files(**{"a.conll": CONLL}), ["convert", "conll", "a.conll", "a.conll"],
     "error: a.conll: output would overwrite the input a.conll", 1),
    ("nemo-out-is-in", files(**{"t.txt": b"a\n", "l.txt": b"O\n"}), ["convert", "nemo", "t.txt", "l.txt", "l.txt"],
     "error: l.txt: output would overwrite the input l.txt", 1),
    ("to-nemo-out-is-in", made(lambda f: docbin(f / "text.txt")), ["convert", "to-nemo", "text.txt", "."],
     "error: text.txt: output would overwrite the input text.txt", 1),
    ("issues-file-is-in", files(**{"a.conll": CONLL}),
     ["convert", "conll", "a.conll", "o.spacy", "--issues-file", "a.conll"],
     "error: a.conll: output would overwrite the input a.conll", 1),
    ("compare-out-is-in", files(**{"s.json": b'{"ents_f": 0.5}'}), ["compare", "s.json", "--output", "s.json"],
     "error: s.json: output would overwrite the input s.json", 1),
    # --- one rule for every output (issue 27): not an input, not another output, not in an input folder
    ("issues-file-in-corpus", both(made(lambda f: ner_uk(f / "ner")), files(**{"ner__data__train_doc.tok.ann": b""})),
     ["convert", "ner-uk", "ner", "out", "--issues-file", "ner/data/train_doc.tok.ann"],
     "error: ner/data/train_doc.tok.ann: output would be written inside the input folder ner, which the "
     "command reads", 1),
    ("issues-file-is-the-output", files(**{"a.conll": CONLL}),
     ["convert", "conll", "a.conll", "o.spacy", "--issues-file", "o.spacy"],
     "error: o.spacy: output would overwrite another output of the same run, o.spacy", 1),
    ("issues-file-is-nemo-labels", made(lambda f: docbin(f / "in.spacy")),
     ["convert", "to-nemo", "in.spacy", "out", "--issues-file", "out/labels.txt"],
     "error: out/labels.txt: output would overwrite another output of the same run, out/labels.txt", 1),
    ("nemo-issues-file-is-the-output", files(**{"t.txt": b"a\n", "l.txt": b"O\n"}),
     ["convert", "nemo", "t.txt", "l.txt", "o.spacy", "--issues-file", "./o.spacy"],
     "error: o.spacy: output would overwrite another output of the same run, o.spacy", 1),
    ("pretrain-text-report-is-the-output", both(files(**{"raw/b.txt": UTF8}), made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "out.txt", "--report", "out.txt"],
     "error: out.txt: output would overwrite another output of the same run, out.txt", 1),
    ("hf-out-in-dataset-folder", files(**{"ds/train.jsonl": b'{"tokens": ["a"], "ner_tags": ["O"]}\n'}),
     ["convert", "hf", "ds", "ds/out"],
     "error: ds/out/train.spacy: output would be written inside the input folder ds, which the command reads", 1),
    ("agreement-out-in-corpus", made(lambda f: ner_uk(f / "ner")),
     ["ner-uk-agreement", "ner", "--output", "ner/agreement.md"],
     "error: ner/agreement.md: output would be written inside the input folder ner, which the command reads", 1),
    ("annotate-out-in-input-folder", files(**{"d/a.txt": UTF8}),
     ["annotate", "model", "d", "d/o.jsonl"],
     "error: d/o.jsonl: output would be written inside the input folder d, which the command reads", 1),
    ("report-out-in-model", both(made(lambda f: docbin(f / "d.spacy")), with_model("m")),
     ["report", "--model", "m", "--data", "d.spacy", "--output", "m", "--name", "x"],
     "error: m/report_x.md: output would be written inside the input folder m, which the command reads", 1),
    ("compare-decoding-out-is-data", both(made(lambda f: docbin(f / "d.spacy")), with_model("m")),
     ["compare-decoding", "--model", "m", "--data", "d.spacy", "--output", "d.spacy"],
     "error: d.spacy: output would overwrite the input d.spacy", 1),
    ("lexicon-coverage-out-is-list", both(files(**{"geo.txt": UTF8}), made(lambda f: docbin(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "none", "--output", "geo.txt"],
     "error: geo.txt: output would overwrite the input geo.txt", 1),
    ("char-lm-checkpoint-is-the-text", files(**{"lm.pt.ckpt": UTF8}),
     ["train-char-lm", "lm.pt.ckpt", "lm.pt", "--max-steps", "1"],
     "error: lm.pt.ckpt: output would overwrite the input lm.pt.ckpt", 1),
    ("build-lexicons-out-is-the-dict", files(**{"lt.dict": b"x"}),
     ["build-lexicons", "lt.dict", "--sources", "lingotweaker", "--lt-dict", "lt.dict"],
     "error: lt.dict: output would overwrite the input lt.dict", 1),
    ("vectors-import-floret-is-the-text", files(**{"t.txt": UTF8}),
     ["vectors-import", "local", "vec", "--text", "t.txt", "--floret", "t.txt"],
     "error: t.txt: output would overwrite the input t.txt", 1),
    ("vectors-import-record-is-the-source", files(**{"v.vec": b"a 1 2\n"}),
     ["vectors-import", "v.vec", "vec", "--record", "v.vec"],
     "error: v.vec: output would overwrite the input v.vec", 1),
    ("vectors-import-out-is-the-source", files(**{"v.vec": b"a 1 2\n"}),
     ["vectors-import", "v.vec", "v.vec"],
     "error: v.vec: output would overwrite the input v.vec", 1),
    ("vectors-import-record-is-floret", files(**{"t.txt": UTF8}),
     ["vectors-import", "local", "vec", "--text", "t.txt", "--floret", "v.floret", "--record", "v.floret"],
     "error: v.floret: output would overwrite another output of the same run, v.floret", 1),
    # --- brat offsets and ner-uk 2.0 (issue 27)
    ("ner-uk-v2-label-outside", made(lambda f: ner_uk_v2(f / "ner", "T1\tLCO\t0\t4\tКиїв")),
     ["convert", "ner-uk", "ner", "out", "--version", "2.0"],
     f"error: ner/v2.0/data/bruk/d1.ann:1: unknown label 'LCO' (expected one of {V2_LABELS})", 1),
    ("ner-uk-v2-label-lowercase", made(lambda f: ner_uk_v2(f / "ner", "T1\tloc\t0\t4\tКиїв")),
     ["convert", "ner-uk", "ner", "out", "--version", "2.0"],
     f"error: ner/v2.0/data/bruk/d1.ann:1: unknown label 'loc' (expected one of {V2_LABELS})", 1),
    ("ner-uk-v2-offset-superscript", made(lambda f: ner_uk_v2(f / "ner", "T1\tLOC\t0\t4²\tКиїв")),
     ["convert", "ner-uk", "ner", "out", "--version", "2.0"],
     "error: ner/v2.0/data/bruk/d1.ann:1: offsets '0 4²' are not numbers (at most 9 digits 0-9 each)", 1),
    ("ner-uk-v1-offset-5000-digits", both(made(lambda f: ner_uk(f / "ner")), files(**{
        "ner__data__train_doc.tok.ann": ("T1\tLOC 0 " + "9" * 5000 + "\tКиїв\n").encode(),
        "ner__data__test_doc.tok.ann": b""})),
     ["convert", "ner-uk", "ner", "out"],
     f"error: ner/data/train_doc.tok.ann:1: offsets '0 {'9' * 38}...' are "
     "not numbers (at most 9 digits 0-9 each)", 1),
    ("agreement-offset-superscript", both(made(lambda f: ner_uk(f / "ner" / "v1.0")), files(**{
        "ner__v1.0__data__train_doc.tok.ann": "T1\tLOC 0 11²\tКиїв\n".encode(),
        "ner__v1.0__data__test_doc.tok.ann": b""}), made(lambda f: ner_uk_v2(f / "ner", "T1\tLOC\t0\t4\tКиїв"))),
     ["ner-uk-agreement", "ner"],
     "error: ner/v1.0/data/train_doc.tok.ann:1: offsets '0 11²' are not numbers (at most 9 digits 0-9 each)", 1),
    ("ner-uk-v2-same-id-in-both-sources", made(lambda f: ner_uk_v2(f / "ner", "T1\tLOC\t0\t4\tКиїв", {
        "ng/d1.txt": "Київ .\n", "ng/d1.ann": ""})),
     ["convert", "ner-uk", "ner", "out", "--version", "2.0"],
     "error: ner/v2.0/data/bruk/d1.ann: document 'd1' is in two sources: also ner/v2.0/data/ng/d1.ann", 1),
    ("ner-uk-v2-missing-txt", made(lambda f: ner_uk_v2(f / "ner", "T1\tLOC\t0\t4\tКиїв", {"ng/d2.ann": ""})),
     ["convert", "ner-uk", "ner", "out", "--version", "2.0"],
     "error: ner/v2.0/data/dev-test-split.txt:3: document 'd2' has no .txt file beside "
     "ner/v2.0/data/ng/d2.ann", 1),
    ("ner-uk-v2-missing-ann", made(lambda f: ner_uk_v2(f / "ner", "T1\tLOC\t0\t4\tКиїв", {"ng/d2.txt": "x\n"})),
     ["convert", "ner-uk", "ner", "out", "--version", "2.0"],
     "error: ner/v2.0/data/dev-test-split.txt:3: document 'd2' has no .ann file beside "
     "ner/v2.0/data/ng/d2.txt", 1),
    ("ner-uk-v2-label-map-twice", made(lambda f: ner_uk_v2(f / "ner", "T1\tLOC\t0\t4\tКиїв")),
     ["convert", "ner-uk", "ner", "out", "--version", "2.0", "--label-map", "LOC=MISC,LOC=ORG"],
     "Error: Invalid value for --label-map: 'LOC' is mapped twice (LOC=MISC, LOC=ORG): map each label once", 1),
    # --- wrong data, wrong encoding
    ("to-nemo-label-with-space", made(lambda f: docbin(f / "in.spacy", "GEO LOC")),
     ["convert", "to-nemo", "in.spacy", "out"],
     "error: in.spacy: entity label 'GEO LOC' cannot be written to NeMo labels (they are "
     "separated by spaces); rename it", 1),
    ("vectors-cp1251", files(**{"t.txt": CP1251}), ["vectors", "t.txt", "v.floret"],
     "error: t.txt: not UTF-8 (byte 0xca at offset 0)", 1),
    ("vectors-no-word-reaches-min-count", files(**{"t.txt": b"a b c\nd e f\ng h i\n"}),
     ["vectors", "t.txt", "v.floret", "--min-count", "2", "--epoch", "1", "--dim", "4", "--bucket", "10"],
     "error: t.txt: no word occurs --min-count 2 times: no vectors to train (lower --min-count or give "
     "more text)", 1),
    ("vectors-import-bad-row-after-header", files(**{"v.vec": b"3 2\na 1 2\nb 1 2\nc 1\n"}),
     ["vectors-import", "v.vec", "vec"],
     "error: v.vec:4: not a vectors text file (expected a word and 2 numbers, found 1)", 1),
    ("vectors-import-bad-number", files(**{"v.vec": b"a 1 2\nb 1 2\nc 1 x\n"}),
     ["vectors-import", "v.vec", "vec"],
     "error: v.vec:3: not a vectors text file (a value is not a number)", 1),
    ("vectors-output-is-folder", files(**{"t.txt": UTF8, "d/x": b""}), ["vectors", "t.txt", "d"],
     "error: d: is a folder, expected a file name to write", 1),
    ("char-lm-cp1251", files(**{"t.txt": CP1251}), ["train-char-lm", "t.txt", "lm.pt", "--max-steps", "1"],
     "error: t.txt: not UTF-8 (byte 0xca at offset 0)", 1),
    ("pretrain-text-cp1251", both(files(**{"raw/b.txt": CP1251}), made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "out.txt"],
     "error: raw/b.txt: not UTF-8 (byte 0xca at offset 0)", 1),
    ("lexicon-coverage-cp1251", both(files(**{"geo.txt": CP1251}), made(lambda f: docbin(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "none"],
     "error: geo.txt: not UTF-8 (byte 0xca at offset 0)", 1),
    ("lexicon-coverage-bad-morphology", both(files(**{"geo.txt": UTF8}), made(lambda f: docbin(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "bogus"],
     "error: --morphology bogus: expected one of none, pymorphy3", 1),
    ("build-lexicons-bad-dict", files(**{"bad.json": b'{"a": 1}'}),
     ["build-lexicons", "out", "--sources", "lingotweaker", "--lt-dict", "bad.json"],
     "error: bad.json: not a morfologik automaton (no '\\fsa' header)", 1),
    ("compare-score-not-a-number", files(**{"s.json": b'{"ents_f": "x"}'}), ["compare", "s.json"],
     "error: s.json: 'ents_f' is 'x', expected a number", 1),
    ("compare-per-type-not-a-number", files(**{"s.json": b'{"ents_per_type": {"LOC": {"f": "y"}}}'}),
     ["compare", "s.json"],
     "error: s.json: 'ents_per_type -> LOC -> f' is 'y', expected a number", 1),
    ("compare-per-type-without-a-name",
     files(**{"s.json": b'{"ents_per_type": {"": {"p": 0.5, "r": 0.5, "f": 0.5}}}'}),
     ["compare", "s.json", "--by-type"],
     "error: s.json: 'ents_per_type' has a type without a name ('')", 1),
    ("build-lexicons-lt-dict-without-lingotweaker", files(),
     ["build-lexicons", "out", "--sources", "iso-codes", "--lt-dict", "nope.dict"],
     "error: --lt-dict applies to the lingotweaker source, which --sources (iso-codes) does not name", 1),
    ("char-lm-text-without-letters", files(**{"t.txt": b" \t \n" * 1200}),
     ["train-char-lm", "t.txt", "lm.pt", "--max-steps", "2"],
     "error: t.txt: holds no letter: nothing for a character language model to learn", 1),
    ("char-lm-damaged-checkpoint", files(**{"t.txt": UTF8, "lm.pt.ckpt": DAMAGED_CKPT}),
     ["train-char-lm", "t.txt", "lm.pt", "--max-steps", "1", "--resume"],
     "error: lm.pt.ckpt: damaged or not a checkpoint (...", 1),
    # --- unknown language, bad options
    ("conll-lang-zz", files(**{"a.conll": CONLL}), ["convert", "conll", "a.conll", "o.spacy", "--lang", "zz"],
     "error: --lang zz: not a language spaCy knows (e.g. uk, en, xx)", 1),
    ("ner-uk-lang-zz", made(lambda f: ner_uk(f / "ner")), ["convert", "ner-uk", "ner", "out", "--lang", "zz"],
     "error: --lang zz: not a language spaCy knows (e.g. uk, en, xx)", 1),
    ("ner-uk-split-file-folder", made(lambda f: ner_uk(f / "ner")),
     ["convert", "ner-uk", "ner", "out", "--split-file", "ner"],
     "error: ner: is a folder, expected a file", 1),
    ("hf-split-map-outside", files(),
     ["convert", "hf", "x.json", "out", "--split-map", "train=../../x"],
     "Error: Invalid value for --split-map: --split-map target '../../x' must be a plain file "
     "name (no folder): it names OUT_DIR/TARGET.spacy", 1),
    ("hf-invalid-json", files(**{"train.json": b'{"tokens": ["a"], "ner_tags": [0]'}),
     ["convert", "hf", "train.json", "out"],
     "error: train.json: cannot be read as a dataset (...", 1),
    ("hf-int-tags-without-names", files(**{"train.jsonl": b'{"tokens": ["a"], "ner_tags": [0]}\n'}),
     ["convert", "hf", "train.jsonl", "out"],
     "error: train.jsonl[train]:0: row 0: integer tag 0 but no tag names (no ClassLabel "
     "feature; give them with --tag-names)", 1),
    ("track-enabled-maybe", files(), ["track", "rid.txt", "--enabled", "maybe"],
     "Error: Invalid value for --enabled: 'maybe' is not a boolean (true or false)", 1),
    ("track-enabled-tru", files(), ["track", "rid.txt", "--enabled", "tru"],
     "Error: Invalid value for --enabled: 'tru' is not a boolean (true or false)", 1),
    # --- annotate: bad lines, models, devices
    ("annotate-lone-surrogate", files(**{"in.jsonl": b'{"text": "\\ud800 x"}\n'}),
     ["annotate", "model", "in.jsonl", "o.jsonl"],
     "error: in.jsonl:1: the text holds a lone surrogate U+D800 (at character 0), not a "
     "character (--skip-bad-lines skips such lines)", 1),
    ("annotate-huge-line", files(**{"in.txt": HUGE_LINE}), ["annotate", "model", "in.txt", "o.jsonl"],
     "error: in.txt:1: text of 1,000,001 characters is longer than the pipeline's "
     "nlp.max_length (1,000,000) (--skip-bad-lines skips such lines)", 1),
    ("annotate-parquet-null-text", made(lambda f: parquet(f / "in.parquet")),
     ["annotate", "model", "in.parquet", "o.parquet"],
     "error: in.parquet:row 2: 'text' is not a string (--skip-bad-lines skips such lines)", 1),
    ("annotate-gpu-without-cupy", files(**{"in.txt": UTF8}),
     ["annotate", "model", "in.txt", "o.jsonl", "--gpu-id", "0"],
     "error: --gpu-id 0: no usable GPU (Cannot use GPU, CuPy is not installed); use --gpu-id "
     "-1 for the CPU", 1),
    ("annotate-model-truncated", both(files(**{"in.txt": UTF8}), with_model(
        "m", lambda p: (p / "rnn_ner" / "model").write_bytes((p / "rnn_ner" / "model").read_bytes()[:500]))),
     ["annotate", "m", "in.txt", "o.jsonl"],
     "error: m: cannot load the pipeline (ValueError: Unpack failed: incomplete input)", 1),
    ("annotate-model-empty", both(files(**{"in.txt": UTF8}), with_model(
        "m", lambda p: (p / "rnn_ner" / "model").write_bytes(b""))),
     ["annotate", "m", "in.txt", "o.jsonl"],
     "error: m: cannot load the pipeline (ValueError: Unpack failed: incomplete input)", 1),
    ("annotate-model-cfg-not-json", both(files(**{"in.txt": UTF8}), with_model(
        "m", lambda p: (p / "rnn_ner" / "cfg").write_text("not json"))),
     ["annotate", "m", "in.txt", "o.jsonl"],
     "error: m: cannot load the pipeline (ValueError: ...", 1),
    ("annotate-no-model", files(**{"in.txt": UTF8}), ["annotate", "nope", "in.txt", "o.jsonl"],
     "error: nope: no such pipeline folder or installed package", 1),
    ("annotate-blank-pipeline", both(files(**{"in.txt": UTF8}), made(lambda f: spacy.blank("uk").to_disk(f / "b"))),
     ["annotate", "b", "in.txt", "o.jsonl"],
     "error: b: the pipeline has no components: it would find no entities", 1),
    ("annotate-output-is-a-folder", files(**{"in.txt": UTF8, "o.jsonl/x": b""}),
     ["annotate", "nope", "in.txt", "o.jsonl"],  # checked before the model loads
     "error: o.jsonl: is a folder, expected a file name to write", 1),
    ("annotate-json-array", files(**{"in.json": b'[{"text": "a"},\n {"text": "b"}]\n'}),
     ["annotate", "model", "in.json", "o.jsonl"],
     'error: in.json:1: a .json input is read as JSON lines (one {"text": ...} object per line), but '
     "this line is not one (invalid JSON (Expecting value, column 16)); write one object per line, or "
     "rename the file to .txt to annotate it as plain text", 1),
    ("annotate-csv", files(**{"in.csv": 'text\n"Київ, Львів"\n'.encode()}), ["annotate", "model", "in.csv", "o.jsonl"],
     "error: in.csv: a CSV table is not read as one (plain text would make its header a document and keep "
     "its quoting); give JSON lines with a 'text' field or Parquet with a 'text' column, or rename it to "
     ".txt to annotate each line as text", 1),
    ("annotate-json-nested-too-deep", files(**{"in.jsonl": b"[" * 100_000 + b"]" * 100_000 + b"\n"}),
     ["annotate", "model", "in.jsonl", "o.jsonl"],
     "error: in.jsonl:1: JSON nested too deeply to be read (--skip-bad-lines skips such lines)", 1),
    # --- found by probing wider
    ("vectors-min-count-too-high", files(**{"t.txt": UTF8}),
     ["vectors", "t.txt", "v.floret", "--min-count", "1000", "--epoch", "1", "--dim", "4", "--bucket", "10"],
     "error: t.txt: floret cannot train on it (...", 1),
    ("compare-empty-scores", files(**{"s.json": b"{}"}), ["compare", "s.json"],
     "error: s.json: holds no entity scores (no ents_p, ents_r, ents_f or ents_per_type): expected the "
     "JSON of `spacy evaluate --output` or of `report`", 1),
    ("compare-null-scores", files(**{"a.json": b'{"ents_f": 0.5}', "b.json": b'{"ents_p": null, "speed": 9}'}),
     ["compare", "a.json", "b.json"],
     "error: b.json: holds no entity scores (no ents_p, ents_r, ents_f or ents_per_type): expected the "
     "JSON of `spacy evaluate --output` or of `report`", 1),
    ("compare-nan", files(**{"s.json": b'{"ents_f": NaN}'}), ["compare", "s.json"],
     "error: s.json: 'ents_f' is nan, expected a number", 1),
    ("report-speed-not-a-number", both(files(**{"s.json": b'{"speed": "fast"}'}), made(lambda f: docbin(f / "d.spacy"))),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", "x", "--scores", "s.json"],
     "error: s.json: 'speed' is 'fast', expected a number", 1),
    ("report-bad-log-line", both(files(**{"l.jsonl": b'{"step": 1, "losses": {}}\n{"step": "x"}\n'}),
                                 made(lambda f: docbin(f / "d.spacy"))),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", "x", "--log", "l.jsonl"],
     "error: l.jsonl: not a spaCy ConsoleLogger.v3 training log (ValueError: invalid literal for int() "
     "with base 10: 'x')", 1),
    ("report-name-with-folder", made(lambda f: docbin(f / "d.spacy")),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", "../x"],
     "Error: Invalid value for --name: '../x': a plain name for the file names: letters, digits, '_', '.' "
     "and '-' (no space, no folder)", 1),
    # probe 6 r03: a space in the name broke every link of the Markdown report, '<i>' was raw HTML
    ("report-name-with-space", made(lambda f: docbin(f / "d.spacy")),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", 'a b"<i>'],
     "Error: Invalid value for --name: 'a b\"<i>': a plain name for the file names: letters, digits, '_', "
     "'.' and '-' (no space, no folder)", 1),
    # probe 6 l06: pymorphy3's "Can't find a dictionary" came as a traceback
    ("lexicon-coverage-lang-without-dictionary", both(files(**{"geo.txt": UTF8}), made(lambda f: docbin(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "geo.txt", "--lang", "en"],
     "error: --lang en: morphology 'pymorphy3': Can't find a dictionary for language 'en'...", 1),
    # probe 6 c17: torch's allocator failed with a traceback
    ("char-lm-too-wide", files(**{"t.txt": UTF8 * 50}),
     ["train-char-lm", "t.txt", "lm.pt", "--max-steps", "1", "--dev-chars", "100", "--hidden-width", "1000000"],
     "error: --hidden-width 1000000 with --embed-width 64: the LSTM needs about 58 TiB of memory to train, "
     "more than this machine has...", 1),
    # probe 6 v13: spaCy dropped a row without a word silently
    ("vectors-import-row-without-word", files(**{"v.vec": b"a 1 2\n 3 4\nc 5 6\n"}),
     ["vectors-import", "v.vec", "vec"],
     "error: v.vec:2: not a vectors text file (a row without a word: the line starts with a space)", 1),
    # probe 6 v04: the advice was to lower a --min-count of 1
    ("vectors-text-without-words", files(**{"t.txt": b"\n \n\t\n"}),
     ["vectors", "t.txt", "v.floret", "--min-count", "1", "--epoch", "1"],
     "error: t.txt: the pretraining text holds no words (only blank lines and spaces)", 1),
    ("hf-tokens-a-string", files(**{"train.jsonl": b'{"tokens": "ab", "ner_tags": "OO"}\n'}),
     ["convert", "hf", "train.jsonl", "out"],
     "error: train.jsonl[train]:0: row 0: the tokens are str, not a list", 1),
    ("to-nemo-out-dir-is-a-file", both(files(out=b"x"), made(lambda f: docbin(f / "in.spacy"))),
     ["convert", "to-nemo", "in.spacy", "out"], "error: out: is a file, expected a folder", 1),
    ("pretrain-text-no-source", both(files(**{"raw/b.txt": UTF8}), made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "o.txt", "--sources", ","],
     "Error: Invalid value for --sources: no text source given", 1),
    ("lexicon-coverage-grammemes-without-morphology",
     both(files(**{"geo.txt": UTF8}), made(lambda f: docbin(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "none", "--grammemes", "Name"],
     "error: --grammemes need --morphology pymorphy3", 1),
    ("lexicon-coverage-empty-docbin", both(files(**{"geo.txt": UTF8}), made(lambda f: DocBin().to_disk(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "none"],
     "error: d.spacy: holds no documents", 1),
    ("compare-same-names", files(**{"a/s.json": b'{"ents_f": 0.5}', "b/s.json": b'{"ents_f": 0.7}'}),
     ["compare", "a/s.json", "b/s.json"],
     "error: 2 systems named 's' (a/s.json, b/s.json); give distinct names with --names, or --seeds for runs of one system", 1),
    ("to-nemo-suffix-with-folder", made(lambda f: docbin(f / "in.spacy")),
     ["convert", "to-nemo", "in.spacy", "out", "--suffix", "/../../x"],
     "Error: Invalid value for --suffix: '/../../x': part of a file name (no folder)", 1),
    ("report-blank-pipeline", made(lambda f: (docbin(f / "d.spacy"), spacy.blank("uk").to_disk(f / "b"))),
     ["report", "--model", "b", "--data", "d.spacy", "--output", "rep", "--name", "x"],
     "error: b: the pipeline has no components: it would find no entities", 1),
    ("lexicon-coverage-name-without-file", made(lambda f: docbin(f / "d.spacy")),
     ["lexicon-coverage", "d.spacy", "GEO=", "--morphology", "none"],
     "error: 'GEO=': no word list after '=' (NAME=FILE)", 1),
    ("track-empty-run-id", files(**{"rid.txt": b"\n"}), ["track", "rid.txt"],
     "error: rid.txt: holds no MLflow run id; train with tracking on first", 1),
    # --- issue 28 (a new probe): outputs that are not regular files, output folders, links
    ("conll-out-fifo", both(files(**{"a.conll": CONLL}), fifo("o.spacy")),
     ["convert", "conll", "a.conll", "o.spacy"],
     "error: o.spacy: is a named pipe, not a regular file: outputs are written to regular files only; "
     "give a file name", 1),
    ("conll-out-link-loop", both(files(**{"a.conll": CONLL}), link("o.spacy", "a"), link("a", "o.spacy")),
     ["convert", "conll", "a.conll", "o.spacy"], "error: o.spacy: is a loop of symbolic links", 1),
    ("conll-out-link-to-chardev", both(files(**{"a.conll": CONLL}), link("nulldev", "/dev/null")),
     ["convert", "conll", "a.conll", "nulldev"],
     "error: nulldev: is a character device (through a link), not a regular file: outputs are written "
     "to regular files only; give a file name", 1),
    ("compare-out-link-to-fifo", both(files(**{"s.json": b'{"ents_f": 0.5}'}), fifo("p"), link("out.md", "p")),
     ["compare", "s.json", "--output", "out.md"],
     "error: out.md: is a named pipe (through a link), not a regular file: outputs are written to regular "
     "files only; give a file name", 1),
    ("hf-cache-dir-inside-input", files(**{"ds/train.jsonl": b'{"tokens": ["a"], "ner_tags": ["O"]}\n'}),
     ["convert", "hf", "ds", "out", "--cache-dir", "ds/cache"],
     "error: ds/cache: output would be written inside the input folder ds, which the command reads", 1),
    ("vectors-import-out-is-a-model", both(files(**{"v.vec": b"a 1 2\nb 1 2\n"}), with_model("m")),
     ["vectors-import", "v.vec", "m"],
     "error: m: holds files that are not an earlier output of vectors-import (config.cfg, meta.json, "
     "rnn_ner, ...): the folder is replaced as a whole; give a new or empty folder", 1),
    ("vectors-import-out-holds-the-source", files(**{"v.vec": b"a 1 2\nb 1 2\n", "config.cfg": b"[x]\n",
                                                     "meta.json": b"{}"}),
     ["vectors-import", "v.vec", "."],
     "error: .: output folder would replace the input v.vec, which is inside it", 1),
    ("vectors-import-out-holds-user-files", files(**{"v.vec": b"a 1 2\nb 1 2\n", "out__config.cfg": b"[x]\n",
                                                     "out__meta.json": b"{}"}),
     ["vectors-import", "v.vec", "out"],
     "error: out: holds files that are not an earlier output of vectors-import (config.cfg, meta.json): "
     "the folder is replaced as a whole; give a new or empty folder", 1),
    ("build-lexicons-out-holds-user-files", files(**{"lt.dict": b"x", "out/notes.md": b"mine"}),
     ["build-lexicons", "out", "--sources", "lingotweaker", "--lt-dict", "lt.dict"],
     "error: out: holds files that are not an earlier output of build-lexicons (notes.md): the folder is "
     "replaced as a whole; give a new or empty folder", 1),
    ("pretrain-text-link-to-output", both(files(**{"raw/a.txt": UTF8, "out.txt": "СТАРИЙ ВИХІД\n".encode()}),
                                          link("raw/prev.txt", "../out.txt"), made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "out.txt", "--sources", "brown-uk"],
     "error: out.txt: output would be read as an input: raw/prev.txt in the input folder raw leads to it", 1),
    ("annotate-dir-link-to-output", both(files(**{"d/a.txt": UTF8, "o.jsonl": b'{"text": "x"}\n'}),
                                         link("d/prev.txt", "../o.jsonl")),
     ["annotate", "model", "d", "o.jsonl"],
     "error: o.jsonl: output would be read as an input: d/prev.txt in the input folder d leads to it", 1),
    ("annotate-dir-hard-link-to-output", both(files(**{"d/a.txt": UTF8, "o.jsonl": b'{"text": "x"}\n'}),
                                              made(lambda f: os.link(f / "o.jsonl", f / "d" / "prev.txt"))),
     ["annotate", "model", "d", "o.jsonl"],
     "error: o.jsonl: output would be read as an input: d/prev.txt in the input folder d leads to it", 1),
    # --- inputs that are not regular files, UTF-16 without a byte-order mark, non-finite numbers
    ("conll-fifo-input", fifo("a.conll"), ["convert", "conll", "a.conll", "o.spacy"],
     "error: a.conll: is a named pipe, not a regular file: save the data to a file and give its name", 1),
    ("annotate-fifo-input", fifo("in.txt"), ["annotate", "model", "in.txt", "o.jsonl"],
     "error: in.txt: is a named pipe, not a regular file: save the data to a file and give its name", 1),
    ("conll-utf16le-nobom", files(**{"a.conll": CONLL_UTF16LE}), ["convert", "conll", "a.conll", "o.spacy"],
     "error: a.conll: not UTF-8 text (a NUL byte at offset 9: UTF-16 or binary data)", 1),
    ("annotate-utf16le-nobom", files(**{"in.txt": UTF16LE}), ["annotate", "model", "in.txt", "o.jsonl"],
     "error: in.txt:1: not UTF-8 text (a NUL byte at byte 9: UTF-16 or binary data) (--skip-bad-lines "
     "skips such lines)", 1),
    ("annotate-dir-utf16le-nobom", files(**{"d/a.txt": UTF16LE}), ["annotate", "model", "d", "o.jsonl"],
     "error: d/a.txt: not UTF-8 text (a NUL byte at byte 9: UTF-16 or binary data) (--skip-bad-lines "
     "skips such lines)", 1),
    ("vectors-utf16le-nobom", files(**{"t.txt": UTF16LE}), ["vectors", "t.txt", "v.floret"],
     "error: t.txt: not UTF-8 text (a NUL byte at offset 9: UTF-16 or binary data)", 1),
    ("pretrain-text-utf16le-nobom", both(files(**{"raw/b.txt": UTF16LE}), made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "out.txt"],
     "error: raw/b.txt: not UTF-8 text (a NUL byte at offset 9: UTF-16 or binary data)", 1),
    ("annotate-jsonl-nan-meta", files(**{"in.jsonl": '{"text": "Київ є", "score": NaN}\n'.encode()}),
     ["annotate", "model", "in.jsonl", "o.jsonl"],
     "error: in.jsonl:1: 'score' is nan: not a JSON number (NaN, Infinity or beyond a double); write null "
     "or a finite number (--skip-bad-lines skips such lines)", 1),
    ("annotate-jsonl-huge-number-meta", files(**{"in.jsonl": '{"text": "Київ є", "m": {"big": [1e400]}}\n'.encode()}),
     ["annotate", "model", "in.jsonl", "o.jsonl"],
     "error: in.jsonl:1: 'm.big.0' is inf: not a JSON number (NaN, Infinity or beyond a double); write "
     "null or a finite number (--skip-bad-lines skips such lines)", 1),
    ("annotate-empty-input", files(**{"in.txt": b""}), ["annotate", "model", "in.txt", "o.jsonl"],
     "error: in.txt: holds no documents to annotate", 1),
    ("annotate-blank-jsonl", files(**{"in.jsonl": b"\n\n"}), ["annotate", "model", "in.jsonl", "o.jsonl"],
     "error: in.jsonl: holds no documents to annotate", 1),
    ("hf-jsonl-utf16le-nobom", files(**{"train.jsonl": '{"tokens": ["Київ"], "ner_tags": ["B-LOC"]}\n'.encode("utf-16-le")}),
     ["convert", "hf", "train.jsonl", "out"],
     "error: train.jsonl: not UTF-8 text (a NUL byte at offset 1: UTF-16 or binary data)", 1),
    ("vectors-import-utf16le-nobom", files(**{"v.vec": "a 1 2\nb 3 4\n".encode("utf-16-le")}),
     ["vectors-import", "v.vec", "vec"],
     "error: v.vec:1: not UTF-8 text (a NUL byte: UTF-16 or binary data)", 1),
    ("lexicon-coverage-list-fifo", both(made(lambda f: docbin(f / "d.spacy")), fifo("geo.txt")),
     ["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "none"],
     "error: geo.txt: is a named pipe, not a regular file: save the data to a file and give its name", 1),
    ("to-nemo-out-dir-is-a-fifo", both(made(lambda f: docbin(f / "in.spacy")), fifo("out")),
     ["convert", "to-nemo", "in.spacy", "out"], "error: out: is a named pipe, expected a folder", 1),
    ("compare-decoding-no-ner-annotation", both(made(lambda f: unannotated_docbin(f / "d.spacy")), with_model("m")),
     ["compare-decoding", "--model", "m", "--data", "d.spacy"],
     "error: d.spacy: holds no NER annotation (no token has an entity tag, not even O): there is nothing "
     "to score the decodings against; give annotated documents", 1),
    ("compare-decoding-empty-docbin", both(made(lambda f: DocBin().to_disk(f / "d.spacy")), with_model("m")),
     ["compare-decoding", "--model", "m", "--data", "d.spacy"], "error: d.spacy: holds no documents", 1),
    # --- values outside their range
    ("compare-scores-outside-0-1", files(**{"s.json": b'{"ents_f": -0.5, "ents_p": 1.7, "ents_r": 0.2}'}),
     ["compare", "s.json"],
     "error: s.json: 'ents_p' is 1.7, expected a score between 0 and 1 (as `spacy evaluate` writes it, "
     "not a percentage)", 1),
    ("compare-negative-speed", files(**{"s.json": b'{"ents_f": 0.5, "speed": -3}'}), ["compare", "s.json"],
     "error: s.json: 'speed' is -3, expected words per second (0 or above)", 1),
    ("char-lm-learn-rate-nan", files(**{"t.txt": UTF8}),
     ["train-char-lm", "t.txt", "lm.pt", "--learn-rate", "nan", "--max-steps", "5"],
     "error: --learn-rate must be a finite number above 0, got nan", 1),
    ("char-lm-learn-rate-negative", files(**{"t.txt": UTF8}),
     ["train-char-lm", "t.txt", "lm.pt", "--learn-rate", "-0.1", "--max-steps", "5"],
     "error: --learn-rate must be a finite number above 0, got -0.1", 1),
    ("char-lm-sgd-learn-rate-negative", files(**{"t.txt": UTF8}),
     ["train-char-lm", "t.txt", "lm.pt", "--optimizer", "sgd", "--learn-rate", "-1", "--max-steps", "5"],
     "error: --learn-rate must be a finite number above 0, got -1.0", 1),
    ("char-lm-max-minutes-nan", files(**{"t.txt": UTF8}),
     ["train-char-lm", "t.txt", "lm.pt", "--max-minutes", "nan"],
     "error: --max-minutes must be a finite number of at least 0, got nan", 1),
    ("char-lm-grad-clip-inf", files(**{"t.txt": UTF8}),
     ["train-char-lm", "t.txt", "lm.pt", "--grad-clip", "inf", "--max-steps", "5"],
     "error: --grad-clip must be a finite number of at least 0, got inf", 1),
    ("char-lm-anneal-factor-zero", files(**{"t.txt": UTF8}),
     ["train-char-lm", "t.txt", "lm.pt", "--anneal-factor", "0", "--max-steps", "5"],
     "error: --anneal-factor must be in (0, 1] (1: no annealing), got 0.0", 1),
    # --- languages checked first
    ("vectors-import-lang-zz", files(**{"v.vec": b"a 1 2\nb 1 2\n"}), ["vectors-import", "v.vec", "vec", "--lang", "zz"],
     "error: --lang zz: not a language spaCy knows (e.g. uk, en, xx)", 1),
    ("build-lexicons-lang-zz", files(), ["build-lexicons", "out", "--sources", "iso-codes", "--lang", "zz"],
     "error: --lang zz: not a language spaCy knows (e.g. uk, en, xx)", 1),
    ("build-lexicons-lingotweaker-lang-en", files(), ["build-lexicons", "out", "--sources", "lingotweaker", "--lang", "en"],
     "error: --sources lingotweaker: its dictionary is for uk, not --lang en (or give --lt-dict)", 1),
    ("build-lexicons-iso-codes-no-catalogue", made(lambda f: [
        (f / "loc" / lang / "LC_MESSAGES").mkdir(parents=True) or (f / "loc" / lang / "LC_MESSAGES" / "iso_3166-1.mo")
        .write_bytes(b"") for lang in ("uk", "de")]),
     ["build-lexicons", "out", "--sources", "iso-codes", "--lang", "xx", "--iso-locale-dir", "loc"],
     "error: loc/xx/LC_MESSAGES/iso_3166-1.mo: iso-codes has no iso_3166-1 catalogue for --lang xx (it has 2 "
     "languages, e.g. de, uk)", 1),
    # --- data the converters must not take silently
    ("ner-uk-v1-label-outside", both(made(lambda f: ner_uk(f / "ner")), files(**{
        "ner__data__train_doc.tok.ann": "T1\tPER 0 4\tКиїв\n".encode(), "ner__data__test_doc.tok.ann": b""})),
     ["convert", "ner-uk", "ner", "out", "--dev-fraction", "0"],
     "error: ner/data/train_doc.tok.ann:1: unknown label 'PER' (expected one of LOC, MISC, ORG, PERS)", 1),
    ("to-nemo-no-ner-annotation", made(lambda f: unannotated_docbin(f / "in.spacy")),
     ["convert", "to-nemo", "in.spacy", "out"],
     "error: in.spacy: holds no NER annotation (no token has an entity tag, not even O): its labels would "
     "all be O; give annotated documents", 1),
    # --- track: checked before MLflow is asked (it would create a database, or retry for minutes)
    ("track-no-database", files(**{"rid.txt": RUN_ID}), ["track", "rid.txt"],
     "error: rid.txt: run run123 not found: no MLflow database at training/mlflow.db (--tracking-uri "
     "sqlite:///training/mlflow.db)", 1),
    ("track-two-run-ids", files(**{"rid.txt": b"998dd123\ndeadbeef\n"}), ["track", "rid.txt"],
     "error: rid.txt: holds 2 lines, expected one MLflow run id (what training with tracking on writes)", 1),
    ("track-server-unreachable", files(**{"rid.txt": RUN_ID}),
     ["track", "rid.txt", "--tracking-uri", "http://127.0.0.1:9"],
     "error: --tracking-uri http://127.0.0.1:9: the tracking server cannot be reached ([Errno 111] "
     "Connection refused)", 1),
    ("track-scores-nan", files(**{"rid.txt": RUN_ID, "s.json": b'{"ents_f": NaN, "ents_per_type": "x"}'}),
     ["track", "rid.txt", "--scores", "s.json"],
     "error: s.json: 'ents_f' is nan, expected a number", 1),
    ("track-scores-per-type-not-an-object", files(**{"rid.txt": RUN_ID, "s.json": b'{"ents_f": 0.5, "ents_per_type": "x"}'}),
     ["track", "rid.txt", "--scores", "s.json"],
     "error: s.json: 'ents_per_type' is str, expected an object", 1),
    # --- probe 2: an existing file that is not of the output's kind is never replaced
    ("conll-two-inputs", files(**{"train.conll": CONLL, "test.conll": CONLL}),
     ["convert", "conll", "train.conll", "test.conll"],
     "error: test.conll: holds text, not a spaCy DocBin (.spacy): the output would replace it; give "
     "another file name (or remove the file first)", 1),
    ("conll-out-not-spacy", files(**{"a.conll": CONLL}), ["convert", "conll", "a.conll", "o.conll"],
     "error: o.conll: the output is a spaCy DocBin (.spacy): give a file name ending in .spacy", 1),
    ("conll-issues-file-is-data", files(**{"a.conll": CONLL, "b.conll": CONLL}),
     ["convert", "conll", "a.conll", "o.spacy", "--issues-file", "b.conll"],
     "error: b.conll: holds text, not a convert issues file (TSV): the output would replace it; give "
     "another file name (or remove the file first)", 1),
    ("vectors-two-texts", files(**{"a.txt": UTF8, "b.txt": UTF8}),
     ["vectors", "a.txt", "b.txt", "--dim", "4", "--epoch", "1", "--bucket", "100", "--min-count", "1"],
     "error: b.txt: holds text, not floret vectors (.floret): the output would replace it; give another "
     "file name (or remove the file first)", 1),
    ("compare-decoding-out-is-a-docbin", both(made(lambda f: (docbin(f / "d.spacy"), docbin(f / "other.spacy"))),
                                               with_model("m")),
     ["compare-decoding", "--model", "m", "--data", "d.spacy", "--output", "other.spacy"],
     "error: other.spacy: holds a spaCy DocBin, not an earlier output of compare-decoding (JSON): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("lexicon-coverage-out-is-a-word-list", both(files(**{"geo.txt": UTF8, "names.txt": "Тарас\n".encode()}),
                                                  made(lambda f: docbin(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "none", "--output", "names.txt"],
     "error: names.txt: holds text, not an earlier output of lexicon-coverage (Markdown): the output would "
     "replace it; give another file name (or remove the file first)", 1),
    ("annotate-out-is-a-docbin-named-jsonl", both(files(**{"in.txt": UTF8}), made(lambda f: docbin(f / "o.jsonl"))),
     ["annotate", "nope", "in.txt", "o.jsonl"],
     "error: o.jsonl: holds a spaCy DocBin, not an earlier output of annotate (JSON lines): the output would replace it; give another file "
     "name (or remove the file first)", 1),
    # --- probe 2: an entry of an input folder that cannot be read is named, not skipped
    ("annotate-dir-fifo", both(files(**{"d/a.txt": UTF8}), fifo("d/b.txt")), ["annotate", "model", "d", "o.jsonl"],
     "error: d/b.txt: is a named pipe in the input folder d, not a regular file: remove it, or save its "
     "data to a file", 1),
    ("annotate-dir-dangling-link", both(files(**{"d/a.txt": UTF8}), link("d/b.txt", "nowhere.txt")),
     ["annotate", "model", "d", "o.jsonl"],
     "error: d/b.txt: is a link to nowhere.txt, which does not exist (in the input folder d): fix or "
     "remove it", 1),
    ("pretrain-text-raw-fifo", both(files(**{"raw/a.txt": UTF8}), fifo("raw/b.txt"), made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "out.txt", "--sources", "brown-uk"],
     "error: raw/b.txt: is a named pipe in the input folder raw, not a regular file: remove it, or save "
     "its data to a file", 1),
    ("pretrain-text-raw-dangling-link", both(files(**{"raw/a.txt": UTF8}), link("raw/b.txt", "gone.txt"),
                                             made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "out.txt", "--sources", "brown-uk"],
     "error: raw/b.txt: is a link to gone.txt, which does not exist (in the input folder raw): fix or "
     "remove it", 1),
    # --- probe 2: converters say what is wrong
    ("hf-null-tag", files(**{"train.jsonl": b'{"tokens": ["a", "b"], "ner_tags": [null, "O"]}\n'}),
     ["convert", "hf", "train.jsonl", "out"],
     "error: train.jsonl[train]:0: row 0: tag 0 is null (a missing value): every token needs a tag", 1),
    ("hf-split-map-unknown-split", files(**{"ds/train.jsonl": b'{"tokens": ["a"], "ner_tags": ["O"]}\n',
                                            "ds/validation.jsonl": b'{"tokens": ["a"], "ner_tags": ["O"]}\n'}),
     ["convert", "hf", "ds", "out", "--split-map", "train=train,validaton=dev"],
     "error: ds: --split-map names split(s) 'validaton' that the dataset does not have (its splits: "
     "train, validation)", 1),
    ("build-lexicons-iso-locale-dir-is-a-file", files(loc=b"x"),
     ["build-lexicons", "out", "--sources", "iso-codes", "--iso-locale-dir", "loc"],
     "error: --iso-locale-dir loc: is a file, expected the folder holding <lang>/LC_MESSAGES/iso_3166-*.mo", 1),
    ("build-lexicons-no-source", files(), ["build-lexicons", "out", "--sources", ""],
     "Error: Invalid value for --sources: no lexicon source given", 1),
    ("vectors-table-beyond-memory", files(**{"t.txt": UTF8}),
     ["vectors", "t.txt", "v.floret", "--dim", "100000000", "--bucket", "100000000", "--epoch", "1"],
     "error: --dim 100000000 x --bucket 100000000: floret's vectors table needs about ...", 1),
    ("vectors-import-nan-value", files(**{"v.vec": b"a 0.5 1\nb nan 1\nc inf 2\n"}), ["vectors-import", "v.vec", "vec"],
     "error: v.vec:2: a value is NaN, infinite or beyond a 32-bit float: the vector would poison every "
     "feature it reaches", 1),
    ("vectors-import-beyond-float32", files(**{"v.vec": b"2 2\na 0.5 1\nb 1e39 1\n"}), ["vectors-import", "v.vec", "vec"],
     "error: v.vec:3: a value is NaN, infinite or beyond a 32-bit float: the vector would poison every "
     "feature it reaches", 1),
    ("vectors-import-header-more-rows", files(**{"v.vec": b"5 2\na 1 2\nb 1 2\n"}), ["vectors-import", "v.vec", "vec"],
     "error: v.vec: the header announces 5 rows, but the file has 2 (cut short?): download it again, or "
     "fix the header", 1),
    ("vectors-import-header-fewer-rows", files(**{"v.vec": b"1 2\na 1 2\nb 1 2\n"}), ["vectors-import", "v.vec", "vec"],
     "error: v.vec:3: not a vectors text file (the header announces 1 rows, but there are more)", 1),
    ("annotate-ray-address-nobody-listens", files(**{"in.txt": UTF8}),
     ["annotate", "model", "in.txt", "o.jsonl", "--engine", "ray", "--ray-address", "127.0.0.1:9"],
     "error: --ray-address 127.0.0.1:9: no Ray cluster answers there (Connection refused); start one "
     "(ray start --head) or leave --ray-address out for a local Ray", 1),
    # --- probe 2: an output inside an output folder that is replaced as a whole
    ("vectors-import-floret-inside-output", files(**{"t.txt": UTF8}),
     ["vectors-import", "local", "vec", "--text", "t.txt", "--floret", "vec/v.floret", "--epoch", "1"],
     "error: vec/v.floret: output would be written inside the output folder vec, which is replaced as a "
     "whole (it would be lost); give a path outside it", 1),
    ("vectors-import-record-inside-output", files(**{"v.vec": b"a 1 2\nb 1 2\n"}),
     ["vectors-import", "v.vec", "vec", "--record", "vec/r.json"],
     "error: vec/r.json: output would be written inside the output folder vec, which is replaced as a "
     "whole (it would be lost); give a path outside it", 1),
    # --- probe 3: split-file entries are document names, not paths
    ("ner-uk-split-same-doc-spelt-as-a-path", both(made(lambda f: ner_uk(f / "ner")), files(**{
        "ner__dev-test-split.txt": b"DEV\ntrain_doc.tok\n./test_doc.tok\n\nTEST\ntest_doc.tok\n"})),
     ["convert", "ner-uk", "ner", "out", "--dev-fraction", "0"],
     "error: ner/dev-test-split.txt:6: 'test_doc.tok' listed twice (first on line 3, under DEV): a "
     "document belongs to one split", 1),
    ("ner-uk-split-name-outside-the-corpus", both(made(lambda f: ner_uk(f / "ner")), files(**{
        "ner__dev-test-split.txt": b"DEV\ntrain_doc.tok\n../secret/leak.tok\nTEST\ntest_doc.tok\n",
        "secret__leak.tok.txt": "Таємний .".encode()})),
     ["convert", "ner-uk", "ner", "out", "--dev-fraction", "0"],
     "error: ner/dev-test-split.txt:3: '../secret/leak.tok' is not a document name (a file name in the "
     "data folder, without '/', '\\' or '..')", 1),
    ("ner-uk-v2-split-name-with-a-folder", both(made(lambda f: ner_uk_v2(f / "ner", "T1\tLOC\t0\t4\tКиїв")),
                                                files(**{"ner__v2.0__data__dev-test-split.txt": b"DEV\nd1\n../ng/t1\nTEST\nt1\n"})),
     ["convert", "ner-uk", "ner", "out", "--version", "2.0", "--dev-fraction", "0"],
     "error: ner/v2.0/data/dev-test-split.txt:3: '../ng/t1' is not a document name (a file name in the "
     "data folder, without '/', '\\' or '..')", 1),
    ("vectors-import-header-width-0", files(**{"v.vec": b"0 0\n"}), ["vectors-import", "v.vec", "vec"],
     "error: v.vec:1: not a vectors text file (the header '0 0' announces vectors of width 0)", 1),
    ("vectors-import-header-only", files(**{"v.vec": b"3 2\n"}), ["vectors-import", "v.vec", "vec"],
     "error: v.vec: not a vectors text file (no vectors after the header '3 2')", 1),
    # --- probe 3: no output inside a folder the command reads
    ("lexicon-coverage-out-in-the-lists-folder", both(files(**{"lists__geo.txt": UTF8}), made(lambda f: docbin(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "lists", "--morphology", "none", "--output", "lists/cov.md"],
     "error: lists/cov.md: output would be written inside the input folder lists, which the command "
     "reads", 1),
    ("lexicon-coverage-txt-out-in-a-named-lists-folder", both(files(**{"lists__geo.txt": UTF8}),
                                                               made(lambda f: docbin(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "g=lists", "--morphology", "none", "--output", "lists/cov.txt"],
     "error: lists/cov.txt: output would be written inside the input folder lists, which the command "
     "reads", 1),
    ("annotate-out-in-the-model-folder", both(files(**{"in.txt": UTF8}), with_model("m")),
     ["annotate", "m", "in.txt", "m/out.jsonl"],
     "error: m/out.jsonl: output would be written inside the input folder m, which the command reads", 1),
    # --- probe 3: a user's Markdown or JSON is not an earlier output (only a command's own is)
    ("compare-out-is-a-readme", files(**{"s.json": b'{"ents_f": 0.5}', "README.md": NOTES_MD}),
     ["compare", "s.json", "--output", "README.md"],
     "error: README.md: holds Markdown, not an earlier output of compare (Markdown): the output would "
     "replace it; give another file name (or remove the file first)", 1),
    ("lexicon-coverage-out-is-a-readme", both(files(**{"geo.txt": UTF8, "README.md": b"# Notes on the lexicons\n\nMine.\n"}),
                                              made(lambda f: docbin(f / "d.spacy"))),
     ["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "none", "--output", "README.md"],
     "error: README.md: holds Markdown, not an earlier output of lexicon-coverage (Markdown): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("pretrain-text-report-is-notes", both(files(**{"raw/b.txt": UTF8, "NOTES.md": b"# Corpus notes\n\nMine.\n"}),
                                           made(lambda f: ner_uk(f / "ner"))),
     ["pretrain-text", "raw", "ner", "out.txt", "--sources", "brown-uk", "--report", "NOTES.md"],
     "error: NOTES.md: holds Markdown, not an earlier output of pretrain-text (Markdown): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("ner-uk-agreement-out-is-notes", both(files(**{"NOTES.md": NOTES_MD}), made(lambda f: ner_uk(f / "ner"))),
     ["ner-uk-agreement", "ner", "--output", "NOTES.md"],
     "error: NOTES.md: holds Markdown, not an earlier output of ner-uk-agreement (Markdown): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("report-md-is-notes", both(files(**{"rep/report_x.md": NOTES_MD}), made(lambda f: docbin(f / "d.spacy"))),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", "x"],
     "error: rep/report_x.md: holds Markdown, not an earlier output of report (Markdown): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("report-json-is-evaluate-scores", both(files(**{"rep/report_x.json": EVALUATE_JSON}), made(lambda f: docbin(f / "d.spacy"))),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", "x"],
     "error: rep/report_x.json: holds JSON, not an earlier output of report (JSON): the output would "
     "replace it; give another file name (or remove the file first)", 1),
    ("compare-decoding-out-is-evaluate-scores", both(files(**{"lstm.json": EVALUATE_JSON}),
                                                      made(lambda f: docbin(f / "d.spacy"))),
     ["compare-decoding", "--model", "model", "--data", "d.spacy", "--output", "lstm.json"],
     "error: lstm.json: holds JSON, not an earlier output of compare-decoding (JSON): the output would "
     "replace it; give another file name (or remove the file first)", 1),
    ("vectors-import-record-is-package-json", files(**{"v.vec": b"a 1 2\nb 1 2\n",
                                                       "package.json": b'{"name": "x", "version": "1.0.0"}\n'}),
     ["vectors-import", "v.vec", "vec", "--record", "package.json"],
     "error: package.json: holds JSON, not an earlier output of vectors-import (JSON): the output would "
     "replace it; give another file name (or remove the file first)", 1),
    # --- probe 4: an existing file counts as an earlier output only when it holds what the
    # command writes (its keys, columns, marker or lines), not merely the right magic or name
    ("annotate-jsonl-out-is-training-data (an04)",
     files(**{"in.txt": UTF8, "train.jsonl": b'{"tokens": ["a"], "ner_tags": ["O"]}\n' * 2}),
     ["annotate", "model", "in.txt", "train.jsonl"],
     "error: train.jsonl: holds JSON lines, not an earlier output of annotate (JSON lines): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("annotate-parquet-out-is-a-user-table (an05)",
     both(files(**{"in.txt": UTF8}), made(lambda f: user_parquet(f / "mine.parquet"))),
     ["annotate", "model", "in.txt", "mine.parquet"],
     "error: mine.parquet: holds a Parquet file, not an earlier output of annotate (Parquet): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("report-html-is-a-user-page (rp05)",
     both(files(**{"rep/examples_x.html": b"<!DOCTYPE html>\n<html><body>My page</body></html>\n"}),
          made(lambda f: docbin(f / "d.spacy"))),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", "x"],
     "error: rep/examples_x.html: holds text, not an earlier output of report (HTML): the output would "
     "replace it; give another file name (or remove the file first)", 1),
    ("char-lm-out-is-a-user-zip (cl06)", both(files(**{"t.txt": UTF8}), made(lambda f: user_zip(f / "lm.pt"))),
     ["train-char-lm", "t.txt", "lm.pt", "--max-steps", "1"],
     "error: lm.pt: holds a zip archive, not an earlier output of train-char-lm (PyTorch): the output "
     "would replace it; give another "
     "file name (or remove the file first)", 1),
    ("to-nemo-labels-is-a-user-note (tn04)",
     both(files(**{"out/labels.txt": b"my labels notes\n"}), made(lambda f: docbin(f / "in.spacy"))),
     ["convert", "to-nemo", "in.spacy", "out"],
     "error: out/labels.txt: holds text, not NeMo labels (lines of IOB tags): the output would replace "
     "it; give another file name (or remove the file first)", 1),
    ("track-artifact-is-a-fifo (tk04)", both(files(**{"rid.txt": RUN_ID}), fifo("p.md")),
     ["track", "rid.txt", "-a", "p.md"],
     "error: p.md: is a named pipe, not a regular file: save the data to a file and give its name", 1),
    ("build-lexicons-list-is-a-user-list (bl02)",
     files(**{"out/countries.txt": "my hand-made country list: Україна\n".encode("utf8")}),
     ["build-lexicons", "out", "--sources", "iso-codes"],
     "error: out: holds files that are not an earlier output of build-lexicons (countries.txt): the folder "
     "is replaced as a whole; give a new or empty folder", 1),
    # --- probe 5
    ("annotate-text-of-a-bom-alone (a11)", files(**{"in.txt": BOM}), ["annotate", "model", "in.txt", "o.jsonl"],
     "error: in.txt: holds no documents to annotate", 1),
    ("report-scores-is-the-training-log (rp01)",
     both(files(**{"l.jsonl": b'{"epoch": 0, "step": 0, "losses": {"ner": 1.0}, "score": 0.5}\n'}),
          made(lambda f: docbin(f / "d.spacy"))),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", "x", "--scores", "l.jsonl"],
     "error: l.jsonl: holds no entity scores (no ents_p, ents_r, ents_f or ents_per_type): expected the "
     "JSON of `spacy evaluate --output` or of `report`", 1),
    ("char-lm-letters-only-in-the-dev-part (c03)",
     files(**{"t.txt": b"0123456789 42.\n" * 400 + "абв\n".encode("utf8")}),
     ["train-char-lm", "t.txt", "lm.pt", "--dev-chars", "200", "--max-steps", "2"],
     "error: t.txt: the training part (all but the last 200 characters) holds no letter: nothing for a "
     "character language model to learn or be measured on; give more text with letters throughout, or "
     "change --dev-chars", 1),
    ("char-lm-no-letter-in-the-dev-part (c03)",
     files(**{"t.txt": UTF8 * 30 + b"0123456789 42.\n" * 20}),
     ["train-char-lm", "t.txt", "lm.pt", "--dev-chars", "200", "--max-steps", "2"],
     "error: t.txt: the dev part (the last 200 characters, held out by --dev-chars) holds no letter: "
     "nothing for a character language model to learn or be measured on; give more text with letters "
     "throughout, or change --dev-chars", 1),
    ("char-lm-min-count-above-every-character (c12)", files(**{"t.txt": UTF8 * 30}),
     ["train-char-lm", "t.txt", "lm.pt", "--dev-chars", "200", "--min-count", "1000000", "--max-steps", "2"],
     "error: --min-count 1000000: leaves 0 characters in the vocabulary (characters seen at least that "
     "often in the training part); at least 2 characters, one of them a letter, are needed: lower "
     "--min-count", 1),
    ("hf-string-tags-not-among-tag-names (h01b)",
     files(**{"ds/train.jsonl": '{"tokens": ["Київ"], "ner_tags": ["B-LOC"]}\n'.encode("utf8")}),
     ["convert", "hf", "ds", "out", "--tag-names", "O,B-PER"],
     "error: ds[train]:0: row 0: tag 0 is 'B-LOC', which is not among the tag names (O, B-PER; from "
     "--tag-names or the ClassLabel)", 1),
    ("build-lexicons-iso-locale-dir-without-iso-codes (b02)", files(),
     ["build-lexicons", "out", "--sources", "lingotweaker", "--iso-locale-dir", "/nonexistent"],
     "error: --iso-locale-dir applies to the iso-codes source, which --sources (lingotweaker) does not name", 1),
    ("annotate-docbin-out-is-gold-data (o02)", both(files(**{"in.txt": UTF8}), made(lambda f: docbin(f / "train.spacy"))),
     ["annotate", "model", "in.txt", "train.spacy"],
     "error: train.spacy: holds a spaCy DocBin, not an earlier output of annotate (DocBin): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("char-lm-out-is-a-users-torch-file (c14)", both(files(**{"t.txt": UTF8}), made(lambda f: user_torch(f / "lm.pt"))),
     ["train-char-lm", "t.txt", "lm.pt", "--max-steps", "1"],
     "error: lm.pt: holds a PyTorch file, not an earlier output of train-char-lm (PyTorch): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("char-lm-checkpoint-is-a-users-torch-file (c14)",
     both(files(**{"t.txt": UTF8}), made(lambda f: user_torch(f / "lm.pt.ckpt"))),
     ["train-char-lm", "t.txt", "lm.pt", "--max-steps", "1"],
     "error: lm.pt.ckpt: holds a PyTorch file, not an earlier output of train-char-lm (PyTorch): the "
     "output would replace it; give another file name (or remove the file first)", 1),
    ("report-png-is-a-users-plot (rp05)",
     both(made(lambda f: user_plot(f / "rep" / "confusion_x.png")), made(lambda f: docbin(f / "d.spacy"))),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", "x"],
     "error: rep/confusion_x.png: holds a PNG image, not an earlier output of report (PNG): the output "
     "would replace it; give another file name (or remove the file first)", 1),
    ("report-png-is-a-png-signature (rp06)",
     both(files(**{"rep/curves_x.png": b"\x89PNG\r\n\x1a\nmy photo"}), made(lambda f: docbin(f / "d.spacy")),
          files(**{"l.jsonl": b'{"epoch": 0, "step": 0, "losses": {"ner": 1.0}, "score": 0.5}\n'})),
     ["report", "--model", "model", "--data", "d.spacy", "--output", "rep", "--name", "x", "--log", "l.jsonl"],
     "error: rep/curves_x.png: holds a PNG image, not an earlier output of report (PNG): the output "
     "would replace it; give another file name (or remove the file first)", 1),
]


def user_torch(path: Path) -> None:
    """A user's own ``torch.save`` file of another model."""
    import torch

    torch.save({"w": torch.zeros(3)}, path)


def user_plot(path: Path) -> None:
    """A user's own matplotlib plot (matplotlib's usual metadata, not the report's)."""
    from matplotlib.figure import Figure

    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure()
    fig.subplots().plot([1, 2, 3])
    fig.savefig(path, format="png")


def user_parquet(path: Path) -> None:
    """A user's own table (no text column): not an annotate output."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"user_id": [1, 2], "score": [0.5, 0.7]}), path)


def test_report_html_of_an_earlier_version_is_replaceable(tmp_path):
    """rp05: the examples page the report writes now carries a marker; one written before
    it did (displaCy's own head) still counts as an earlier output, a user's page does not."""
    from spacy_rnn_ner.file_kinds import DISPLACY_HEAD, HTML_MARKER, REPORT_HTML, kind_refusal

    old, new, user = tmp_path / "old.html", tmp_path / "new.html", tmp_path / "user.html"
    old.write_text(DISPLACY_HEAD + "\n    </head>\n</html>\n", encoding="utf8")
    new.write_text(f"<!DOCTYPE html>\n{HTML_MARKER}\n<html></html>\n", encoding="utf8")
    user.write_text("<!DOCTYPE html>\n<html><head><title>displaCy</title></head></html>\n", encoding="utf8")
    assert kind_refusal(old, REPORT_HTML) is None and kind_refusal(new, REPORT_HTML) is None
    assert kind_refusal(user, REPORT_HTML) is not None


def user_zip(path: Path) -> None:
    """A user's zip archive (named like a model): not a torch.save file."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "my notes\n")


def parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": [TEXT, None], "id": [1, 2]}), path)


def run_cli(argv: List[str], folder: Path, capsys, monkeypatch) -> "tuple[int, str]":
    monkeypatch.chdir(folder)
    capsys.readouterr()
    status = main(argv)
    return status, capsys.readouterr().err


@pytest.mark.parametrize("setup,argv,message,status", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line(setup, argv, message, status, tmp_path, model_dir, capsys, monkeypatch):
    if "--gpu-id" in argv and importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed")
    setup(tmp_path, model_dir)
    argv = [str(model_dir) if a == "model" else a for a in argv]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    got, err = run_cli(argv, tmp_path, capsys, monkeypatch)
    lines = err.strip().splitlines()
    assert got == status, err
    assert "Traceback" not in err
    if message.endswith("..."):  # the rest comes from another library
        assert lines[-1].startswith(message[:-3]), err
    else:
        assert lines[-1] == message, err
    for path, data in before.items():  # nothing a user gave is changed
        assert path.read_bytes() == data, path
    after = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert after == set(before), after - set(before)  # nothing written, no temporary file


# ------------------------------------------------------------ outputs as a plain open() makes them


def test_outputs_get_the_mode_of_a_plain_open(tmp_path, capsys, monkeypatch):
    import stat

    (tmp_path / "a.conll").write_bytes(CONLL)
    old = os.umask(0o022)
    try:
        status, err = run_cli(["convert", "conll", "a.conll", "o.spacy", "--issues-file", "i.tsv"],
                              tmp_path, capsys, monkeypatch)
    finally:
        os.umask(old)
    assert status == 0, err
    for name in ("o.spacy", "i.tsv"):  # not mkstemp's 0600: other users can read them
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_a_replaced_output_folder_keeps_its_mode(tmp_path, capsys, monkeypatch):
    """probe 4 md02/md04: a folder output replaced on a rerun keeps the earlier folder's
    mode (a folder the user closed with chmod 700 stays closed), as a file output does."""
    import stat

    (tmp_path / "v.vec").write_bytes(b"2 2\na 1 2\nb 1 2\n")
    old = os.umask(0o022)
    try:
        argv = ["vectors-import", "v.vec", "vec"]
        status, err = run_cli(argv, tmp_path, capsys, monkeypatch)
        assert status == 0, err
        (tmp_path / "vec").chmod(0o700)
        status, err = run_cli(argv, tmp_path, capsys, monkeypatch)
        assert status == 0, err
        assert stat.S_IMODE((tmp_path / "vec").stat().st_mode) == 0o700
        # build-lexicons (md04) writes its folder the same way: atomic_folder
        from spacy_rnn_ner.outputs import atomic_folder

        (tmp_path / "lex").mkdir(mode=0o700)
        with atomic_folder(tmp_path / "lex") as folder:
            (folder / "geo.txt").write_text("київ\n", encoding="utf8")
        assert stat.S_IMODE((tmp_path / "lex").stat().st_mode) == 0o700
        assert (tmp_path / "lex" / "geo.txt").read_text(encoding="utf8") == "київ\n"
        with atomic_folder(tmp_path / "new") as folder:  # a new folder: the mode mkdir gives
            pass
        assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o755
    finally:
        os.umask(old)


# ------------------------------------------------------------ no hang, nothing lost


@pytest.mark.timeout(20)
@pytest.mark.parametrize("max_length", [1, 2, 3])
def test_split_points_always_advance(max_length):
    from spacy_rnn_ner.corpus import split_points

    cuts = split_points(5, max_length, numpy.zeros(6, dtype=bool))
    assert cuts == sorted(set(cuts)) and all(0 < c < 5 for c in cuts)
    pieces = [b - a for a, b in zip([0] + cuts, cuts + [5])]
    assert max(pieces) <= max(max_length - 1, 1)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("max_length", [1, 3])
def test_entity_longer_than_max_length_stays_whole(tmp_path, max_length):
    from spacy_rnn_ner.corpus import create_corpus_reader

    nlp = spacy.blank("uk")
    doc = Doc(nlp.vocab, words="a b c d e f g".split())
    doc.ents = [Span(doc, 1, 5, "ORG"), Span(doc, 5, 6, "LOC")]
    path = tmp_path / "train.spacy"
    DocBin(docs=[doc]).to_disk(path)
    reader = create_corpus_reader(path, max_length=max_length)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        examples = list(reader(nlp))
    ents = [(e.text, e.label_) for eg in examples for e in eg.reference.ents]
    assert ents == [("b c d e", "ORG"), ("f", "LOC")]  # nothing cut, nothing missing
    for eg in examples:  # no token of an entity is set to missing
        assert "" not in [t.ent_iob_ for t in eg.reference]
    message = str(caught[-1].message)
    assert "no entity split" in message and "1 of them are longer, to keep an entity" in message


# ------------------------------------------------------------ annotate: BOM, .TXT, entities


def test_annotate_bom_txt_and_dirs_keep_offsets(tmp_path, model_dir, capsys, monkeypatch):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_bytes(BOM + TEXT.encode("utf8"))
    (tmp_path / "d" / "B.TXT").write_bytes(TEXT.encode("utf8"))
    (tmp_path / "in.txt").write_bytes(BOM + UTF8)
    (tmp_path / "in.jsonl").write_bytes(BOM + json.dumps({"text": TEXT}).encode("utf8") + b"\n")
    for src in ("d", "in.txt", "in.jsonl"):
        status, err = run_cli(["annotate", str(model_dir), src, "o.jsonl"], tmp_path, capsys, monkeypatch)
        assert status == 0, err
        rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text("utf8").splitlines()]
        assert [row["text"] for row in rows] == [TEXT] * (2 if src == "d" else 1)
        if src == "d":  # the upper-case .TXT is read too
            assert [row["file"] for row in rows] == ["B.TXT", "a.txt"]


def test_annotate_keeps_input_entities(tmp_path, model_dir, capsys, monkeypatch):
    gold = [{"start": 0, "end": 4, "label": "LOC"}]
    (tmp_path / "in.jsonl").write_text(json.dumps({"text": TEXT, "entities": gold, "id": 7}) + "\n"
                                       + json.dumps({"text": TEXT, "entities": [], "input_entities": []})
                                       + "\n", encoding="utf8")
    status, err = run_cli(["annotate", str(model_dir), "in.jsonl", "o.jsonl"], tmp_path, capsys, monkeypatch)
    assert status == 1 and err.strip().splitlines()[-1] == (
        'error: in.jsonl:2: has both "entities" and "input_entities" fields; the output keeps '
        'the input\'s "entities" as "input_entities" (--skip-bad-lines skips such lines)')
    status, err = run_cli(["annotate", str(model_dir), "in.jsonl", "o.jsonl", "--skip-bad-lines"],
                          tmp_path, capsys, monkeypatch)
    assert status == 0, err
    row = json.loads((tmp_path / "o.jsonl").read_text("utf8").splitlines()[0])
    assert row["input_entities"] == gold and row["id"] == 7 and isinstance(row["entities"], list)


def test_annotate_skips_bad_lines_without_traceback(tmp_path, model_dir, capsys, monkeypatch):
    (tmp_path / "in.jsonl").write_bytes(b'{"text": "\\ud800 x"}\n' + json.dumps({"text": TEXT}).encode() + b"\n")
    (tmp_path / "in.txt").write_bytes(HUGE_LINE + UTF8)
    for src in ("in.jsonl", "in.txt"):
        status, err = run_cli(["annotate", str(model_dir), src, "o.jsonl", "--skip-bad-lines"],
                              tmp_path, capsys, monkeypatch)
        assert status == 0 and "(skipped)" in err and "Traceback" not in err, err
        rows = (tmp_path / "o.jsonl").read_text("utf8").splitlines()
        assert [json.loads(r)["text"] for r in rows] == [TEXT]



def test_annotate_refuses_a_json_line_with_a_repeated_key(tmp_path, model_dir, capsys, monkeypatch):
    """probe 6 a08: json kept the last of two "text" values and dropped the first silently."""
    (tmp_path / "in.jsonl").write_text('{"text": "Київ", "id": 1, "text": "Львів", "id": 2}\n'
                                       + json.dumps({"text": TEXT}) + "\n", encoding="utf8")
    status, err = run_cli(["annotate", str(model_dir), "in.jsonl", "o.jsonl"], tmp_path, capsys, monkeypatch)
    assert status == 1 and "Traceback" not in err and not (tmp_path / "o.jsonl").exists()
    assert "in.jsonl:1: the key 'text' appears twice in one JSON object (which value is meant?)" in err
    status, err = run_cli(["annotate", str(model_dir), "in.jsonl", "o.jsonl", "--skip-bad-lines"],
                          tmp_path, capsys, monkeypatch)
    assert status == 0 and "appears twice" in err
    assert [json.loads(r)["text"] for r in (tmp_path / "o.jsonl").read_text("utf8").splitlines()] == [TEXT]

def test_annotate_gpu_error_also_under_spacy_cli(tmp_path, model_dir):
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed")
    (tmp_path / "in.txt").write_bytes(UTF8)
    done = subprocess.run([sys.executable, "-m", "spacy", "rnn-ner", "annotate", str(model_dir), "in.txt",
                           "o.jsonl", "--gpu-id", "0"], cwd=tmp_path, env=env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: --gpu-id 0: no usable GPU")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGQUIT], ids=["SIGTERM", "SIGQUIT"])
def test_sigterm_removes_the_temporary_output(tmp_path, model_dir, signum):
    """Also SIGQUIT (Ctrl-\\, probe 3 s04), which left the hidden temporary file."""
    (tmp_path / "in.txt").write_text((TEXT + "\n") * 200_000, encoding="utf8")
    proc = subprocess.Popen([sys.executable, "-m", "spacy_rnn_ner", "annotate", str(model_dir), "in.txt",
                             "o.jsonl", "--batch-size", "8"], cwd=tmp_path, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while not list(tmp_path.glob(".o.jsonl.*.tmp")) and time.time() < deadline:
        time.sleep(0.2)
    assert list(tmp_path.glob(".o.jsonl.*.tmp")), "annotate never started writing"
    time.sleep(0.5)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert not list(tmp_path.glob(".*.tmp")) and not (tmp_path / "o.jsonl").exists()


def floret_children(marker: str) -> List[str]:
    """Process ids whose command line holds ``marker`` (the floret child of a test)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            pass
    return found


@pytest.mark.timeout(120)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_vectors_stop_at_once_and_leave_nothing(tmp_path, signum):
    if importlib.util.find_spec("floret") is None:
        pytest.skip("floret is not installed")
    words = [f"w{i}" for i in range(300)]
    lines = [" ".join(words[(i * 7) % 290:(i * 7) % 290 + 10]) for i in range(3000)]
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\n", encoding="utf8")
    temp = tmp_path / "tmp"  # the system temp folder of the command: its shuffled copy goes there
    temp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "spacy_rnn_ner", "vectors", "t.txt", "v.floret", "--seed", "1",
                             "--epoch", "1000", "--dim", "50", "--bucket", "2000"],
                            cwd=tmp_path, env=dict(env(), TMPDIR=str(temp)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 90
    while not floret_children(str(tmp_path)) and time.time() < deadline:
        time.sleep(0.2)
    assert floret_children(str(tmp_path)), "floret never started"
    assert list(temp.rglob("*")) and list(tmp_path.glob(".v.floret.*.tmp"))
    time.sleep(1)
    sent = time.time()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert time.time() - sent < 10, "the command waited for floret"
    assert proc.returncode == 128 + signum, err
    assert err.strip().splitlines() == [f"error: stopped by signal {int(signum)}"]
    assert not list(temp.iterdir()), "the shuffled copy of the text is left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt", "tmp"]  # no .floret, whole or half
    time.sleep(0.5)
    assert not floret_children(str(tmp_path)), "floret still runs"


def test_annotate_reads_json_lines_named_json(tmp_path, model_dir, capsys, monkeypatch):
    (tmp_path / "in.json").write_text(json.dumps({"text": TEXT, "id": 3}) + "\n", encoding="utf8")
    status, err = run_cli(["annotate", str(model_dir), "in.json", "o.jsonl"], tmp_path, capsys, monkeypatch)
    assert status == 0, err
    (row,) = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text("utf8").splitlines()]
    assert row["text"] == TEXT and row["id"] == 3  # the object's text, not its braces


def test_annotate_skips_a_line_nested_too_deep(tmp_path, model_dir, capsys, monkeypatch):
    (tmp_path / "in.jsonl").write_bytes(json.dumps({"text": TEXT}).encode() + b"\n" + b"[" * 100_000
                                        + b"]" * 100_000 + b"\n" + json.dumps({"text": TEXT}).encode() + b"\n")
    status, err = run_cli(["annotate", str(model_dir), "in.jsonl", "o.jsonl", "--skip-bad-lines"],
                          tmp_path, capsys, monkeypatch)
    assert status == 0 and "Traceback" not in err, err
    assert "in.jsonl:2: JSON nested too deeply to be read (skipped)" in err.splitlines()
    assert len((tmp_path / "o.jsonl").read_text("utf8").splitlines()) == 2


def test_annotate_gives_back_metadata_and_user_data(tmp_path, model_dir, capsys, monkeypatch):
    from spacy_rnn_ner.io import read_docbin

    if not Doc.has_extension("topic"):
        Doc.set_extension("topic", default=None)
    (tmp_path / "in.jsonl").write_text(json.dumps({"text": TEXT, "id": 7, "src": "web"}) + "\n",
                                       encoding="utf8")
    nlp = spacy.blank("uk")
    doc = nlp(TEXT)
    doc.user_data.update({"name": "doc-1", "source": "ng"})
    doc._.topic = "history"
    DocBin(docs=[doc], store_user_data=True).to_disk(tmp_path / "in.spacy")
    for src, out in (("in.jsonl", "a.spacy"), ("in.spacy", "b.spacy"), ("in.spacy", "c.jsonl")):
        status, err = run_cli(["annotate", str(model_dir), src, out], tmp_path, capsys, monkeypatch)
        assert status == 0, err
        if out == "c.jsonl":  # JSON holds no tuple keys: said so, the rest comes back
            assert "in.spacy#0: user_data entries with non-string keys (extension attributes) are kept " \
                   "only in a .spacy output" in err
    (a,) = read_docbin(tmp_path / "a.spacy")
    assert a.user_data == {"id": 7, "src": "web", "spacy_rnn_ner.annotate": True}  # o02: annotate's marker
    (b,) = read_docbin(tmp_path / "b.spacy")
    assert b.user_data["name"] == "doc-1" and b.user_data["source"] == "ng" and b._.topic == "history"
    (c,) = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text("utf8").splitlines()]
    assert c["name"] == "doc-1" and c["source"] == "ng" and c["text"] == TEXT



def test_a_pipeline_without_its_labels_is_refused_at_load(tmp_path, model_dir, capsys, monkeypatch):
    """probe 6 m04/m07/m08/s01: without rnn_ner/cfg (or with another pipeline's cfg) spaCy
    loaded the weights against no labels: an IndexError at the first entity."""
    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    (broken / "rnn_ner" / "cfg").unlink()
    (tmp_path / "in.txt").write_text(TEXT + "\n", encoding="utf8")
    status, err = run_cli(["annotate", str(broken), "in.txt", "o.jsonl"], tmp_path, capsys, monkeypatch)
    assert status == 1 and "Traceback" not in err and not (tmp_path / "o.jsonl").exists()
    assert f"{broken / 'rnn_ner' / 'cfg'} is missing: it holds the component's labels" in err
    cfg = json.loads((model_dir / "rnn_ner" / "cfg").read_text("utf8"))
    cfg["labels"] = cfg["labels"][:1]
    (broken / "rnn_ner" / "cfg").write_text(json.dumps(cfg), encoding="utf8")
    with pytest.raises(ValueError, match=r"need 3 tags but the model has \d+ outputs: the cfg file does not "
                                         "belong to these weights"):
        spacy.load(broken)
    (broken / "rnn_ner" / "cfg").write_text(json.dumps(dict(cfg, labels=5)), encoding="utf8")  # m12
    with pytest.raises(ValueError, match="'labels' must be a list of label names, got 5"):
        spacy.load(broken)
    spacy.load(model_dir)  # the complete folder loads


def test_annotate_gives_back_a_docbins_cats_and_span_groups(tmp_path, model_dir, capsys, monkeypatch):
    """probe 6 a19: a DocBin's doc.cats and its own span groups were dropped without a word."""
    nlp = spacy.blank("uk")
    doc = nlp(TEXT)
    doc.cats = {"history": 1.0, "sport": 0.0}
    doc.spans["mine"] = [Span(doc, 0, 2, label="X", kb_id="Q1")]
    doc.spans["mine"].attrs["note"] = "by hand"
    DocBin(docs=[doc], store_user_data=True).to_disk(tmp_path / "in.spacy")
    status, err = run_cli(["annotate", str(model_dir), "in.spacy", "o.spacy"], tmp_path, capsys, monkeypatch)
    assert status == 0 and "cats and span groups" not in err, err
    (out,) = read_docbin(tmp_path / "o.spacy")
    assert out.cats == {"history": 1.0, "sport": 0.0}
    assert [(s.start, s.end, s.label_, s.kb_id_) for s in out.spans["mine"]] == [(0, 2, "X", "Q1")]
    assert out.spans["mine"].attrs == {"note": "by hand"}
    status, err = run_cli(["annotate", str(model_dir), "in.spacy", "o.jsonl"], tmp_path, capsys, monkeypatch)
    assert status == 0 and "in.spacy#0: the document's cats and span groups are kept only in a .spacy output" in err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_an_output_folder_that_takes_no_files_is_named(tmp_path, model_dir, capsys, monkeypatch):
    """probe 6 q01-q03: the error named the temporary file (/proc/.x.jsonl.XXXX.tmp)."""
    (tmp_path / "in.txt").write_text(TEXT + "\n", encoding="utf8")
    status, err = run_cli(["annotate", str(model_dir), "in.txt", "/proc/x.jsonl"], tmp_path, capsys, monkeypatch)
    assert status == 1 and "Traceback" not in err and ".tmp" not in err, err
    assert "/proc/x.jsonl: cannot write an output in this folder (new files cannot be made there)" in err
    from spacy_rnn_ner.outputs import AtomicFolder

    with pytest.raises(InputError, match="^/proc/vv: cannot write an output in this folder"):
        AtomicFolder("/proc/vv")

def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(180)
@pytest.mark.parametrize("signum,to_group", [(signal.SIGTERM, False), (signal.SIGTERM, True), (signal.SIGINT, True)],
                         ids=["SIGTERM-parent", "SIGTERM-group", "SIGINT-group"])
def test_annotate_workers_stop_quietly(tmp_path, model_dir, signum, to_group):
    (tmp_path / "in.txt").write_text((TEXT + "\n") * 200_000, encoding="utf8")
    proc = subprocess.Popen([sys.executable, "-m", "spacy_rnn_ner", "annotate", str(model_dir), "in.txt", "o.jsonl",
                             "--n-process", "2", "--batch-size", "8"], cwd=tmp_path, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 90
    while not list(tmp_path.glob(".o.jsonl.*.tmp")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # the workers run
    if to_group:  # as Ctrl-C in a terminal, or a service manager, does
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("annotate hangs after the signal")
    assert proc.returncode == 128 + signum, err
    assert err.strip().splitlines() == ["interrupted: no output written"]  # no traceback per worker
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
    time.sleep(0.5)
    assert not process_group_alive(proc.pid), "a worker is left running"


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_bad_brat_offsets_are_skipped_with_their_line(version, tmp_path, capsys, monkeypatch):
    if version == "1.0":
        ner_uk(tmp_path / "ner")
        ann = tmp_path / "ner" / "data" / "train_doc.tok.ann"
        ann.write_text("T1\tLOC 0 4\tКиїв\nT2\tLOC 11² 15\tx\n", encoding="utf8")
        (tmp_path / "ner" / "data" / "test_doc.tok.ann").write_text("", encoding="utf8")
        shown = "ner/data/train_doc.tok.ann"
    else:
        ner_uk_v2(tmp_path / "ner", "T1\tLOC\t0\t4\tКиїв\nT2\tLOC\t11²\t15\tx")
        shown = "ner/v2.0/data/bruk/d1.ann"
    status, err = run_cli(["convert", "ner-uk", "ner", "out", "--version", version, "--skip-malformed",
                           "--issues-file", "issues.tsv"], tmp_path, capsys, monkeypatch)
    assert status == 0 and "Traceback" not in err, err
    issues = (tmp_path / "issues.tsv").read_text("utf8").splitlines()[1:]
    assert [line.split("\t") for line in issues] == [
        ["skipped", "malformed line", "", shown, "2", "offsets '11² 15' are not numbers (at most 9 digits "
                                                        "0-9 each)"]]
    docs = read_docbin(tmp_path / "out" / "train.spacy")
    assert [(e.text, e.label_) for d in docs for e in d.ents] == [("Київ", "LOC")]


def test_empty_v2_document_is_skipped_and_reported_as_in_1_0(tmp_path, capsys, monkeypatch):
    ner_uk_v2(tmp_path / "ner", "T1\tLOC\t0\t4\tКиїв", {"ng/e1.txt": " \n", "ng/e1.ann": ""})
    status, err = run_cli(["convert", "ner-uk", "ner", "out", "--version", "2.0", "--dev-fraction", "0",
                           "--issues-file", "issues.tsv"], tmp_path, capsys, monkeypatch)
    assert status == 0, err
    issues = [line.split("\t") for line in (tmp_path / "issues.tsv").read_text("utf8").splitlines()[1:]]
    assert [i[:2] + i[3:] for i in issues] == [
        ["skipped", "empty document", "ner/v2.0/data/ng/e1.txt", "", "(train) the text has no tokens; e1.ann not read"]]
    assert [d.user_data["name"] for d in read_docbin(tmp_path / "out" / "train.spacy")] == ["d1"]
    # 1.0 says the same of its empty documents
    ner_uk(tmp_path / "v1")
    (tmp_path / "v1" / "data" / "train_doc.tok.txt").write_text(" \n", encoding="utf8")
    for name in ("train_doc", "test_doc"):
        (tmp_path / "v1" / "data" / f"{name}.tok.ann").write_text("", encoding="utf8")
    status, err = run_cli(["convert", "ner-uk", "v1", "out1", "--dev-fraction", "0", "--issues-file", "i1.tsv"],
                          tmp_path, capsys, monkeypatch)
    assert status == 0, err
    (v1,) = [line.split("\t") for line in (tmp_path / "i1.tsv").read_text("utf8").splitlines()[1:]]
    assert v1[:2] + v1[4:] == ["skipped", "empty document", "", "(train) the text has no tokens; "
                                                               "train_doc.tok.ann not read"]


# ------------------------------------------------------------ BOM everywhere


def test_word_list_with_bom_matches_its_first_word(tmp_path):
    from spacy_rnn_ner.layers.lexicon_features import read_word_list

    path = tmp_path / "geo.txt"
    path.write_bytes(BOM + "Київ\nЛьвів\n".encode("utf8"))
    assert read_word_list(path) == ["київ", "львів"]


def test_pretrain_text_strips_bom_and_reads_upper_case_txt(tmp_path, capsys, monkeypatch):
    ner_uk(tmp_path / "ner")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.txt").write_bytes(BOM + "Київ є містом .\n".encode("utf8"))
    (tmp_path / "raw" / "B.TXT").write_bytes("Львів теж .\n".encode("utf8"))
    status, err = run_cli(["pretrain-text", "raw", "ner", "out.txt"], tmp_path, capsys, monkeypatch)
    assert status == 0, err
    assert (tmp_path / "out.txt").read_text("utf8").splitlines() == ["Львів теж .", "Київ є містом ."]


def test_nemo_reader_reports_a_no_break_space(tmp_path, capsys, monkeypatch):
    (tmp_path / "t.txt").write_text("Нью\u00a0Йорк є\n", encoding="utf8")
    (tmp_path / "l.txt").write_text("B-LOC I-LOC O\n", encoding="utf8")
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "nemo", "t.txt", "l.txt", "o.spacy"]) == 0
    assert "t.txt:1: words separated at U+00A0 as at a space (as NeMo reads them)" in capsys.readouterr().out


def test_conll_reader_drops_and_reports_a_byte_order_mark_inside_the_file(tmp_path, capsys, monkeypatch):
    """probe 5 k01: two CoNLL files joined, the second with a BOM: U+FEFF was glued to its
    first token ('\ufeffЛьвів'), invisibly."""
    (tmp_path / "a.conll").write_bytes(BOM + CONLL + b"\n" + BOM + "Львів B-LOC\n".encode("utf8"))
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "conll", "a.conll", "o.spacy"]) == 0
    assert "a.conll:4: a byte-order mark (U+FEFF) inside the file (two files joined?) dropped" \
        in capsys.readouterr().out
    words = [t.text for doc in read_docbin(tmp_path / "o.spacy") for t in doc]
    assert words == ["Київ", "є", "Львів"]
    assert [e.text for doc in read_docbin(tmp_path / "o.spacy") for e in doc.ents] == ["Київ", "Львів"]


# ------------------------------------------------------------ spacy train: config errors


BAD_SETTINGS = [
    ("depth", 0, "spacy_rnn_ner.RNNTagger.v2: 'depth' must be a positive integer, got 0."),
    ("rnn_type", "bogus", "spacy_rnn_ner.RNNTagger.v2: unknown rnn_type 'bogus'; valid choices: "
                          "'rnn', 'gru', 'lstm'"),
    ("dropout", 1.5, "spacy_rnn_ner.RNNTagger.v2: 'dropout' must be in [0, 1), got 1.5."),
    ("hidden_width", -3, "spacy_rnn_ner.RNNTagger.v2: 'hidden_width' must be a positive integer, got -3."),
]


@pytest.mark.parametrize("name,value,message", BAD_SETTINGS, ids=[s[0] for s in BAD_SETTINGS])
def test_bad_model_setting_is_a_config_error(name, value, message):
    from confection import ConfigValidationError

    from conftest import SMALL_MODEL

    nlp = spacy.blank("uk")
    with pytest.raises(ConfigValidationError) as caught:
        nlp.add_pipe("rnn_ner", config={"model": dict(SMALL_MODEL, **{name: value})})
    assert caught.value.title == message


def test_data_without_entities_is_a_config_error():
    from confection import ConfigValidationError

    nlp = build_nlp()
    examples = [eg for eg in make_examples(nlp, [(text, []) for text, _ in TRAIN_DATA])]
    with pytest.raises(ConfigValidationError, match="no entity labels"):
        nlp.initialize(lambda: examples)


def test_spacy_train_prints_config_errors_without_traceback(tmp_path):
    nlp = spacy.blank("uk")
    db = DocBin(docs=[nlp.make_doc(text) for text, _ in TRAIN_DATA])
    db.to_disk(tmp_path / "train.spacy")
    done = subprocess.run(
        [sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "rnn_ner.cfg"),
         "--paths.train", "train.spacy", "--paths.dev", "train.spacy", "--paths.vectors", "null",
         "--paths.lexicon", str(ROOT / "tests" / "data" / "lexicon"),
         "--components.rnn_ner.model.tok2vec.include_static_vectors", "false",
         "--components.rnn_ner.model.depth", "0"],
        cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert "Traceback" not in out and "'depth' must be a positive integer, got 0" in out


@pytest.mark.timeout(300)
@pytest.mark.parametrize("config", ["rnn_ner.cfg", "spacy_ner.cfg"])
def test_spacy_train_writes_its_log_inside_the_output_folder(config, tmp_path, monkeypatch):
    from spacy.cli.train import train

    nlp = spacy.blank("uk")
    db = DocBin()
    for text, spans in TRAIN_DATA:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(s, e, label) for s, e, label in spans]
        db.add(doc)
    db.to_disk(tmp_path / "train.spacy")
    monkeypatch.chdir(tmp_path)
    overrides = {"paths.train": "train.spacy", "paths.dev": "train.spacy", "paths.vectors": None,
                 "training.max_steps": 2, "training.eval_frequency": 1}
    if config == "rnn_ner.cfg":
        overrides.update({"paths.lexicon": str(ROOT / "tests" / "data" / "lexicon"),
                          "components.rnn_ner.model.tok2vec.include_static_vectors": False,
                          "components.rnn_ner.model.tok2vec.extra_features": None})
    for run in ("a", "b"):  # two trainings as the README shows them: a log each, in its folder
        train(ROOT / "configs" / config, tmp_path / run, overrides=overrides)
        assert [json.loads(line)["step"] for line in (tmp_path / run / "log.jsonl").read_text().splitlines()] \
            == [0, 1, 2]
    assert not (tmp_path / "training").exists()  # nothing outside --output
    train(ROOT / "configs" / config, None, overrides=overrides)  # no --output: no log
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "train.spacy"]
    train(ROOT / "configs" / config, tmp_path / "c", overrides=dict(overrides, **{"paths.log": "logs/c.jsonl"}))
    assert (tmp_path / "logs" / "c.jsonl").is_file() and not (tmp_path / "c" / "log.jsonl").exists()


# ------------------------------------------------------------ interrupted runs


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, ValueError])
def test_atomic_output_leaves_nothing_when_interrupted(tmp_path, interrupt):
    from spacy_rnn_ner.io import atomic_output

    out = tmp_path / "out.txt"
    out.write_text("before", encoding="utf8")
    with pytest.raises(interrupt):
        with atomic_output(out) as file_:
            file_.write("half")
            raise interrupt()
    assert out.read_text(encoding="utf8") == "before" and os.listdir(tmp_path) == ["out.txt"]
    with atomic_output(out) as file_:
        file_.write("after")
    assert out.read_text(encoding="utf8") == "after" and os.listdir(tmp_path) == ["out.txt"]


def test_missing_corpus_is_a_config_error(tmp_path):
    from confection import ConfigValidationError

    from spacy_rnn_ner.corpus import create_corpus_reader

    with pytest.raises(ConfigValidationError) as caught:
        create_corpus_reader(tmp_path / "nope.spacy", name="corpora.dev")
    assert caught.value.title == f"corpora.dev.path: {tmp_path / 'nope.spacy'}: no such file or folder"


# ------------------------------------------------------------ gold labels the model cannot predict


def gold_and_pred(labels_gold, labels_pred):
    nlp = spacy.blank("uk")
    words = ["a", "b", "c", "d"]
    gold, pred = Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words)
    gold.ents = [Span(gold, i, i + 1, label) for i, label in enumerate(labels_gold)]
    pred.ents = [Span(pred, i, i + 1, label) for i, label in enumerate(labels_pred)]
    return gold, pred


def test_scorer_macro_over_the_model_labels_warns_once_about_the_others():
    from spacy.training import Example

    from spacy_rnn_ner import scorer

    scorer._WARNED.clear()
    gold, pred = gold_and_pred(["PERS", "LOC", "DATE"], ["PERS", "ORG"])
    examples = [Example(pred, gold)]
    with pytest.warns(UserWarning) as caught:
        scores = scorer.score_ents(examples, labels=("LOC", "MISC", "ORG", "PERS"))
    assert [str(w.message) for w in caught] == [
        "the gold entities have labels the model cannot predict: DATE (model labels: LOC, MISC, ORG, "
        "PERS); ents_macro_p/r/f average over the model's labels only, ents_macro_all_p/r/f over every "
        "type (these count 0)"]
    per_type = scores["ents_per_type"]
    assert set(per_type) == {"PERS", "LOC", "ORG", "DATE"}
    assert scores["ents_macro_f"] == pytest.approx((1 + 0 + 0) / 3)  # PERS, LOC, ORG
    assert scores["ents_macro_all_f"] == pytest.approx((1 + 0 + 0 + 0) / 4)  # and DATE
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once is enough
        scorer.score_ents(examples, labels=("LOC", "MISC", "ORG", "PERS"))
    # without the model's labels (or when it has them all) both averages agree
    unlabelled = scorer.score_ents(examples)
    assert unlabelled["ents_macro_f"] == unlabelled["ents_macro_all_f"] == scores["ents_macro_all_f"]


def test_evaluate_with_a_model_lacking_gold_labels_warns(model_dir):
    from spacy.training import Example

    from spacy_rnn_ner import scorer

    scorer._WARNED.clear()
    nlp = spacy.load(model_dir)
    doc = nlp.make_doc("Київ 2024 року")
    doc.ents = [Span(doc, 0, 1, "LOC"), Span(doc, 1, 3, "DATE")]
    with pytest.warns(UserWarning, match="labels the model cannot predict: DATE"):
        scores = nlp.evaluate([Example(nlp.make_doc(doc.text), doc)])
    assert "DATE" in scores["ents_per_type"]
    assert {"ents_macro_f", "ents_macro_all_f"} <= set(scores)


def test_report_says_what_its_macro_is_over():
    from spacy_rnn_ner.report.writer import build_report, render_markdown

    gold, pred = gold_and_pred(["PERS", "DATE"], ["PERS"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = build_report([gold], [pred], labels=["PERS", "LOC"])
    assert report["macro_types"] == ["PERS"] and report["ents_macro_f"] == pytest.approx(1.0)
    assert report["ents_macro_all_f"] == pytest.approx(0.5)
    text = render_markdown(dict(report, n_docs=1), "x", {}, {})
    assert "macro is the unweighted mean over the 1 of the model's 2 types that occur in the gold data " \
           "or the predictions" in text
    assert "Left out: DATE, gold types the model cannot predict; over all 2 types (`ents_macro_all_f`) " \
           "macro F1 is 50.00." in text


# ------------------------------------------------------------ issue 28: a new probe


def test_annotate_gives_back_a_docbins_own_entities(tmp_path, model_dir, capsys, monkeypatch):
    """A .spacy input's entities come back as ``input_entities``, as a JSON line's do."""
    nlp = spacy.blank("uk")
    doc = nlp("Київ є містом")
    doc.ents = [Span(doc, 0, 1, "LOC")]
    doc.user_data["id"] = 1
    raw = nlp("Львів теж")  # no NER annotation: nothing to give back
    DocBin(docs=[doc, raw], store_user_data=True).to_disk(tmp_path / "in.spacy")
    status, err = run_cli(["annotate", str(model_dir), "in.spacy", "o.jsonl"], tmp_path, capsys, monkeypatch)
    assert status == 0, err
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text("utf8").splitlines()]
    assert rows[0]["input_entities"] == [{"start": 0, "end": 4, "label": "LOC", "text": "Київ"}]
    assert rows[0]["id"] == 1 and isinstance(rows[0]["entities"], list)
    assert "input_entities" not in rows[1]


def test_report_on_data_without_gold_entities_warns(tmp_path, model_dir, capsys, monkeypatch):
    nlp = spacy.blank("uk")
    DocBin(docs=[Doc(nlp.vocab, words=["Київ", "є", "містом"], ents=["O", "O", "O"])]).to_disk(tmp_path / "d.spacy")
    status, err = run_cli(["report", "--model", str(model_dir), "--data", "d.spacy", "--output", "rep", "--name", "x"],
                          tmp_path, capsys, monkeypatch)
    assert status == 0, err
    assert err.strip().splitlines()[-1] == ("warning: d.spacy: the gold data holds no entities, so the scores "
                                            "say nothing about the model (is the data annotated?)")
    text = (tmp_path / "rep" / "report_x.md").read_text("utf8")
    assert "the gold data holds no entities" in text
    assert "of the model's 4 types" in text and "0 types the model can predict" not in text


def test_ner_uk_split_file_without_test_and_unlisted_documents_are_reported(tmp_path, capsys, monkeypatch):
    ner_uk(tmp_path / "ner")
    (tmp_path / "ner" / "dev-test-split.txt").write_text("DEV\ntrain_doc.tok\n", encoding="utf8")
    for name in ("train_doc", "test_doc"):
        (tmp_path / "ner" / "data" / f"{name}.tok.ann").write_text("", encoding="utf8")
    status, err = run_cli(["convert", "ner-uk", "ner", "out", "--dev-fraction", "0", "--issues-file", "i.tsv"],
                          tmp_path, capsys, monkeypatch)
    assert status == 0, err
    issues = [line.split("\t") for line in (tmp_path / "i.tsv").read_text("utf8").splitlines()[1:]]
    assert [[i[0], i[1], i[3], i[5]] for i in issues] == [
        ["note", "empty split", "ner/dev-test-split.txt", "no TEST documents listed: test.spacy is empty"],
        ["skipped", "not in split file", "ner/data/test_doc", "not listed in dev-test-split.txt: not read"]]


def test_lexicon_coverage_warns_about_an_empty_word_list(tmp_path, capsys, monkeypatch):
    docbin(tmp_path / "d.spacy")
    (tmp_path / "geo.txt").write_bytes(b"")
    status, err = run_cli(["lexicon-coverage", "d.spacy", "geo.txt", "--morphology", "none"], tmp_path, capsys,
                          monkeypatch)
    assert status == 0 and err.strip().splitlines() == ["warning: geo.txt: holds no words (gazetteer 'geo')"]


def test_to_nemo_reports_tokens_without_an_entity_tag(tmp_path, capsys, monkeypatch):
    nlp = spacy.blank("uk")
    doc = nlp("Київ є містом")
    doc.set_ents([Span(doc, 0, 1, "LOC")], default="unmodified")  # "є містом": unset, not O
    DocBin(docs=[doc], store_user_data=True).to_disk(tmp_path / "in.spacy")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["convert", "to-nemo", "in.spacy", "out"]) == 0
    out = capsys.readouterr().out
    assert "adjusted no NER annotation" in out and "2 token(s) without an entity tag (unset, not O) written as O" in out
    assert (tmp_path / "out" / "labels.txt").read_text("utf8") == "B-LOC O O\n"


def test_an_earlier_training_log_is_replaced_at_the_start_of_a_run(tmp_path):
    """spaCy keeps an existing log file and logs nothing: a rerun into the same folder
    paired a new model with the old log. Another file at the log path is left alone."""
    import io

    from spacy_rnn_ner.report.tracking import is_training_log, make_tracking_logger

    nlp = spacy.blank("uk")
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"epoch": 0, "step": 3, "losses": {"rnn_ner": 1.0}}) + "\n", encoding="utf8")
    other = tmp_path / "train.spacy"
    other.write_bytes(b"not a log")
    assert is_training_log(log) and not is_training_log(other)
    for path, replaced in ((log, True), (other, False)):
        stdout = io.StringIO()
        log_step, finalize = make_tracking_logger(output_file=str(path), console_output=False)(nlp, stdout, stdout)
        finalize()
        assert ("Saving logs is disabled" in stdout.getvalue()) != replaced
    assert log.read_text(encoding="utf8") == ""  # this run's (empty) log, not the old one
    assert other.read_bytes() == b"not a log"


BAD_SETTINGS_NOT_NUMBERS = [
    ("dropout", "nan", "spacy_rnn_ner.RNNTagger.v2: 'dropout' must be in [0, 1), got 'nan'."),
    ("token_dropout", "0.1", "spacy_rnn_ner.RNNTagger.v2: 'token_dropout' must be in [0, 1), got '0.1'."),
]


@pytest.mark.parametrize("name,value,message", BAD_SETTINGS_NOT_NUMBERS, ids=["str-nan", "str"])
def test_a_rate_that_is_not_a_number_is_a_config_error(name, value, message):
    from confection import ConfigValidationError

    from spacy_rnn_ner.architectures import _check_rate

    test_bad_model_setting_is_a_config_error(name, value, message)
    with pytest.raises(ConfigValidationError, match="got nan"):  # a NaN (not JSON: not from a config file)
        _check_rate("spacy_rnn_ner.RNNTagger.v2", "dropout", float("nan"))


def lexicon_layer(directory: Path):
    from spacy_rnn_ner.architectures import build_lexicon_features

    return build_lexicon_features({"GEO": ["geo.txt"], "COUNTRY": ["countries.txt"]}, str(directory))


@pytest.mark.parametrize("problem", ["missing-list", "folder-is-a-file", "not-utf8", "list-is-a-folder"])
def test_word_list_problems_are_config_errors(problem, tmp_path):
    from confection import ConfigValidationError

    lex = tmp_path / "lex"
    if problem == "folder-is-a-file":
        lex.write_text("x", encoding="utf8")
    else:
        lex.mkdir()
        (lex / "geo.txt").write_bytes("Київ\n".encode("cp1251" if problem == "not-utf8" else "utf8"))
        if problem == "list-is-a-folder":
            (lex / "countries.txt").mkdir()
        elif problem == "not-utf8":
            (lex / "countries.txt").write_text("україна\n", encoding="utf8")
    arch = "spacy_rnn_ner.LexiconFeatures.v1"
    expected = {
        "missing-list": f"{arch}: {lex / 'countries.txt'}: word list of gazetteer 'COUNTRY' not found (make the "
                        "lists with build-lexicons, or leave 'COUNTRY' out)",
        "list-is-a-folder": f"{arch}: {lex / 'countries.txt'}: word list of gazetteer 'COUNTRY' is a folder (make "
                            "the lists with build-lexicons, or leave 'COUNTRY' out)",
        "folder-is-a-file": f"{arch}: {lex}: is a file, expected the folder of the word lists",
        "not-utf8": f"{arch}: {lex / 'geo.txt'}: not UTF-8 (byte 0xca at offset 0)",
    }[problem]
    with pytest.raises(ConfigValidationError) as caught:
        lexicon_layer(lex).initialize()
    assert caught.value.title == expected


def test_a_file_that_is_not_a_docbin_is_a_config_error(tmp_path):
    from confection import ConfigValidationError

    from spacy_rnn_ner.corpus import create_corpus_reader

    (tmp_path / "train.spacy").write_bytes(bytes(range(256)) * 2)
    with pytest.raises(ConfigValidationError) as caught:
        create_corpus_reader(tmp_path / "train.spacy", name="corpora.train")
    assert caught.value.title == f"corpora.train.path: {tmp_path / 'train.spacy'}: not a spaCy DocBin (.spacy) file"
    # probe 3 (tr06): a DocBin cut short passed, and training failed with a traceback (E1014)
    nlp = spacy.blank("uk")
    data = DocBin(docs=[nlp(TEXT * 20)] * 20, store_user_data=True).to_bytes()
    (tmp_path / "cut.spacy").write_bytes(data[:300])
    with pytest.raises(ConfigValidationError) as caught:
        create_corpus_reader(tmp_path / "cut.spacy", name="corpora.train")
    assert caught.value.title == (f"corpora.train.path: {tmp_path / 'cut.spacy'}: not a complete spaCy "
                                  "DocBin (cut short, or damaged): write or copy it again")
    (tmp_path / "whole.spacy").write_bytes(data)
    create_corpus_reader(tmp_path / "whole.spacy", name="corpora.train")
    DocBin().to_disk(tmp_path / "empty.spacy")  # an empty DocBin is one, but holds no documents
    with pytest.raises(ConfigValidationError, match="holds no documents"):
        create_corpus_reader(tmp_path / "empty.spacy")


def test_missing_vectors_are_a_config_error(tmp_path):
    from confection import ConfigValidationError

    from spacy_rnn_ner.callbacks import make_torch_threads

    nlp = spacy.blank("uk")
    nlp.config["initialize"]["vectors"] = str(tmp_path / "nope")
    with pytest.raises(ConfigValidationError) as caught:
        make_torch_threads(0)(nlp)
    assert caught.value.title == (f"initialize.vectors: {tmp_path / 'nope'}: no such folder or installed package "
                                  "(make it with vectors-import, or give --paths.vectors null)")
    nlp.config["initialize"]["vectors"] = None
    make_torch_threads(0)(nlp)



def test_torch_threads_beyond_the_machine_are_a_config_error(monkeypatch):
    """probe 6 s19: a billion threads ended in libgomp's out-of-memory abort, no option named."""
    from confection import ConfigValidationError

    from spacy_rnn_ner.callbacks import make_torch_threads

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with pytest.raises(ConfigValidationError) as caught:
        make_torch_threads(1_000_000_000)
    assert caught.value.title == ("spacy_rnn_ner.torch_threads.v1: 'threads' 1000000000: at most 16 on this "
                                  "machine (4 per CPU core).")
    make_torch_threads(16)

TRAIN_CONFIG_ERRORS = [
    ("lexicon-missing-list", {"--paths.lexicon": "lex"}, "word list of gazetteer"),
    ("dropout-nan", {"--components.rnn_ner.model.dropout": "nan"}, "'dropout' must be in [0, 1), got 'nan'"),
    ("garbage-data", {"--paths.train": "garbage.spacy"}, "garbage.spacy: not a spaCy DocBin (.spacy) file"),
    ("vectors-missing", {"--paths.vectors": "nope",
                         "--components.rnn_ner.model.tok2vec.include_static_vectors": "true"},
     "initialize.vectors: nope: no such folder or installed package"),
    ("label-weighting-bogus", {"--components.rnn_ner.label_weighting": '"bogus"'},
     "[rnn_ner] unknown label_weighting 'bogus'"),
    ("label-weights-unknown-label", {"--components.rnn_ner.label_weights": '{"FOO": 2}'},
     "[rnn_ner] label_weights names labels ['FOO']"),
    ("nO-does-not-fit", {"--components.rnn_ner.model.nO": "3"}, "[rnn_ner] the model's nO is 3"),
    ("dev-empty", {"--paths.dev": "empty.spacy"}, "corpora.dev.path: empty.spacy: holds no documents"),
    ("max-length-negative", {"--corpora.train.max_length": "-1"},
     "corpora.train.max_length: expected a number of tokens (documents for limit) of 0 or more"),
    ("tracking-unreachable", {"--training.logger.tracking": "true",
                              "--training.logger.tracking_uri": "http://127.0.0.1:9"},
     "the tracking server cannot be reached"),
]


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("overrides,message", [c[1:] for c in TRAIN_CONFIG_ERRORS], ids=[c[0] for c in TRAIN_CONFIG_ERRORS])
def test_spacy_train_prints_the_plugins_config_errors_without_traceback(overrides, message, tmp_path):
    nlp = spacy.blank("uk")
    db = DocBin()
    for text, spans in TRAIN_DATA:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(s, e, label) for s, e, label in spans]
        db.add(doc)
    db.to_disk(tmp_path / "train.spacy")
    (tmp_path / "garbage.spacy").write_bytes(bytes(range(256)) * 2)
    DocBin().to_disk(tmp_path / "empty.spacy")
    (tmp_path / "lex").mkdir()
    (tmp_path / "lex" / "geo.txt").write_text("київ\n", encoding="utf8")
    args = {"--paths.train": "train.spacy", "--paths.dev": "train.spacy", "--paths.vectors": "null",
            "--paths.lexicon": str(ROOT / "tests" / "data" / "lexicon"),
            "--components.rnn_ner.model.tok2vec.include_static_vectors": "false", "--training.max_steps": "1",
            **overrides}
    done = subprocess.run([sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "rnn_ner.cfg"),
                           *[x for pair in args.items() for x in pair]],
                          cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=500)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out and message in out, out


# ------------------------------------------------------------ probe 2: settings are config errors


COMPONENT_CONFIG_ERRORS = [
    ("label-weighting-bogus", {"label_weighting": "bogus"},
     "[rnn_ner] unknown label_weighting 'bogus'; valid choices: 'none', 'sqrt_inverse_frequency', "
     "'inverse_frequency'"),
    ("label-weights-negative", {"label_weights": {"LOC": -1}},
     "[rnn_ner] label weight for 'LOC' must be a finite number >= 0, got -1"),
    ("label-weights-unknown-label", {"label_weights": {"FOO": 2}},
     "[rnn_ner] label_weights names labels ['FOO'] that are not among the component's labels "
     "['LOC', 'MISC', 'ORG', 'PERS']."),
    ("nO-does-not-fit", {"nO": 3}, "[rnn_ner] the model's nO is 3 but the labels"),
    ("unknown-token-attribute", {"attrs": ["NORM", "BOGUS", "SUFFIX", "SHAPE"]},
     "spacy_rnn_ner.TokenFeatures.v1: unknown token attribute(s) 'BOGUS' in 'attrs' (spaCy's, e.g. NORM, "
     "PREFIX, SUFFIX, SHAPE)"),
    ("gazetteer-without-files", {"gazetteers": {"GEO": []}},
     "spacy_rnn_ner.LexiconFeatures.v1: gazetteer(s) 'GEO' name no word list file: the feature could "
     "never fire (give its files, or leave it out)"),
]


@pytest.mark.parametrize("setting,message", [c[1:] for c in COMPONENT_CONFIG_ERRORS],
                         ids=[c[0] for c in COMPONENT_CONFIG_ERRORS])
def test_bad_component_settings_are_config_errors(setting, message, tmp_path):
    """Raised as config errors at construction or initialize, which spacy train prints
    without a traceback."""
    from confection import ConfigValidationError

    from conftest import SMALL_MODEL

    model = dict(SMALL_MODEL)
    if "nO" in setting:
        model["nO"] = setting.pop("nO")
    if "attrs" in setting:
        model["tok2vec"] = dict(model["tok2vec"], attrs=setting.pop("attrs"))
    if "gazetteers" in setting:
        model["tok2vec"] = dict(model["tok2vec"], extra_features={
            "@architectures": "spacy_rnn_ner.LexiconFeatures.v1", "directory": str(tmp_path),
            "gazetteers": setting.pop("gazetteers")})
    nlp = spacy.blank("uk")
    with pytest.raises(ConfigValidationError) as caught:
        nlp.add_pipe("rnn_ner", config={"model": model, **setting})
        nlp.initialize(lambda: make_examples(nlp))
    assert caught.value.title.startswith(message)


@pytest.mark.parametrize("settings,message", [
    ({"max_length": -1}, "corpora.train.max_length: expected a number of tokens (documents for limit) of "
                         "0 or more (0: no limit), got -1"),
    ({"limit": -2}, "corpora.train.limit: expected a number of tokens (documents for limit) of 0 or more "
                    "(0: no limit), got -2"),
    ({"empty": True}, "corpora.train.path: {path}: holds no documents (training and evaluating on nothing "
                      "would give scores of nothing)"),
], ids=["max-length-negative", "limit-negative", "empty-docbin"])
def test_corpus_settings_and_an_empty_docbin_are_config_errors(settings, message, tmp_path):
    from confection import ConfigValidationError

    from spacy_rnn_ner.corpus import create_corpus_reader

    path = tmp_path / "d.spacy"
    if settings.pop("empty", False):
        DocBin().to_disk(path)
    else:
        docbin(path)
    with pytest.raises(ConfigValidationError) as caught:
        create_corpus_reader(path, **settings)
    assert caught.value.title == message.format(path=path)
    docbin(path)
    assert create_corpus_reader(path)  # a DocBin with documents is read


def test_rnn_ner_cfg_reads_dev_with_the_plugins_reader():
    """An empty dev set is refused for rnn_ner.cfg too (spaCy's reader would score nothing)."""
    config = spacy.util.load_config(ROOT / "configs" / "rnn_ner.cfg")
    assert config["corpora"]["dev"]["@readers"] == "spacy_rnn_ner.Corpus.v1"
    assert config["corpora"]["dev"]["max_length"] == 0


@pytest.mark.timeout(300)
@pytest.mark.parametrize("option,message", [
    (["--output", "f"], "output_file\tf: is a file, expected a folder (spacy train --output takes a folder; the "
                        "training log goes to f/log.jsonl)"),
    (["--paths.log", "f/log.jsonl"], "output_file\tf: is a file, expected a folder (the training log output_file "
                                     "f/log.jsonl goes inside it)")], ids=["output-is-a-file", "log-under-a-file"])
def test_spacy_train_with_a_file_for_the_log_folder_is_a_config_error(option, message, tmp_path):
    """Probe 3 (tr07, tr18): a traceback from spaCy's console logger (NotADirectoryError)
    after the pipeline was initialized."""
    nlp = spacy.blank("uk")
    DocBin(docs=[nlp.make_doc(text) for text, _ in TRAIN_DATA]).to_disk(tmp_path / "train.spacy")
    (tmp_path / "f").write_text("mine", encoding="utf8")
    done = subprocess.run(
        [sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "rnn_ner.cfg"),
         "--paths.train", "train.spacy", "--paths.dev", "train.spacy", "--paths.vectors", "null",
         "--paths.lexicon", str(ROOT / "tests" / "data" / "lexicon"),
         "--components.rnn_ner.model.tok2vec.include_static_vectors", "false", *option],
        cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in out, out
    assert message in out, out
    assert (tmp_path / "f").read_text(encoding="utf8") == "mine"


def test_an_unreachable_tracking_server_is_a_config_error():
    from confection import ConfigValidationError

    from spacy_rnn_ner.report.tracking import make_tracking_logger

    start = time.time()
    with pytest.raises(ConfigValidationError) as caught:
        make_tracking_logger(tracking=True, tracking_uri="http://127.0.0.1:9")
    assert time.time() - start < 15
    assert caught.value.title == ("training.logger.tracking_uri http://127.0.0.1:9: the tracking server cannot "
                                  "be reached ([Errno 111] Connection refused); start it, or set tracking = false")


def test_the_command_line_is_recognized_for_ctrl_c_during_imports(monkeypatch):
    from spacy_rnn_ner import startup

    for argv, expected in ((["py", "-m", "spacy_rnn_ner", "convert"], True), (["py", "-mspacy_rnn_ner"], True),
                           (["py", "-X", "importtime", "-m", "spacy", "rnn-ner", "annotate"], True),
                           (["py", "-m", "spacy", "train"], False), (["py", "script.py", "-m", "spacy_rnn_ner"], False),
                           (["py", "-c", "import spacy_rnn_ner"], False)):
        monkeypatch.setattr(sys, "orig_argv", argv)
        assert startup.is_command_line() == expected, argv


@pytest.mark.timeout(120)
def test_ctrl_c_during_the_imports_is_one_line(tmp_path):
    """The command's first seconds import torch and spaCy: Ctrl-C there ends it with the
    same line as later, not a traceback through the imports."""
    proc = subprocess.Popen([sys.executable, "-m", "spacy_rnn_ner", "convert", "ner-uk", "nope", "out"],
                            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        try:
            if "libtorch" in maps.read_text():  # inside `import torch`, after the package's first line
                break
        except OSError:
            pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["error: stopped by signal 2"]


def test_process_substitution_is_named_as_a_pipe(tmp_path):
    done = subprocess.run(["bash", "-c", f"{sys.executable} -m spacy_rnn_ner convert conll <(printf 'Київ B-LOC\\n') "
                           "o.spacy"], cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: /dev/fd/") and last.endswith(
        ": is a named pipe (through a link), not a regular file: save the data to a file and give its name"), last
    assert not (tmp_path / "o.spacy").exists()


# ------------------------------------------------------------ probe 2: what a reader should know


def test_compare_seeds_with_different_types_says_so_and_shows_them(tmp_path, capsys, monkeypatch):
    files(**{"r1/s.json": b'{"ents_f": 0.5, "ents_per_type": {"LOC": {"p": 0.5, "r": 0.5, "f": 0.5}}}',
             "r2/s.json": b'{"ents_f": 0.7, "ents_per_type": {"PERS": {"p": 0.7, "r": 0.7, "f": 0.7}}}'})(tmp_path, None)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["compare", "r1/s.json", "r2/s.json", "--seeds", "--by-type"]) == 0
    out, err = capsys.readouterr()
    assert ("warning: the runs of 's' have different entity types (r1/s.json: LOC; r2/s.json: PERS): a "
            "type's cells show the runs that have it") in err
    assert "| 50.00 (1 of 2 runs) | 70.00 (1 of 2 runs) |" in out
    assert "| PERS | 70.00 / 70.00 / 70.00 (1 of 2 runs) |" in out


def test_compare_decoding_warns_about_gold_labels_the_model_lacks(tmp_path, model_dir):
    from spacy_rnn_ner.report.decoding import compare_decoding
    from spacy_rnn_ner.scorer import _WARNED

    docbin(tmp_path / "d.spacy", label="DATE")
    _WARNED.clear()
    with pytest.warns(UserWarning, match="the gold entities have labels the model cannot predict: DATE"):
        compare_decoding(model_dir, tmp_path / "d.spacy")


def test_vectors_import_warns_about_a_word_on_two_rows(tmp_path, capsys, monkeypatch):
    files(**{"v.vec": b"a 1 2\nb 3 4\na 5 6\n"})(tmp_path, None)
    status, err = run_cli(["vectors-import", "v.vec", "vec"], tmp_path, capsys, monkeypatch)
    assert status == 0, err
    assert ("warning: v.vec: 1 row(s) repeat a word of an earlier row (first: 'a' on lines 1 and 3): "
            "spaCy keeps the last vector of each such word") in err


@pytest.mark.parametrize("argv,message", [
    (["annotate", "model", "in.txt", "o.jsonl", "--n-process", "1000000"],
     "error: --n-process 1000000: at most 16 worker processes on this machine (4 per CPU core, 2 cores)"),
    (["annotate", "model", "in.txt", "o.jsonl", "--engine", "ray", "--concurrency", "17"],
     "error: --concurrency 17: at most 16 Ray actors on this machine (4 per CPU core, 2 cores)"),
    (["vectors", "in.txt", "v.floret", "--threads", "100000"],
     "error: --threads 100000: at most 16 threads on this machine (4 per CPU core, 2 cores)"),
    (["vectors-import", "local", "vec", "--text", "in.txt", "--threads", "100000"],
     "error: --threads 100000: at most 16 threads on this machine (4 per CPU core, 2 cores)"),
], ids=["annotate-n-process", "annotate-concurrency", "vectors-threads", "vectors-import-threads"])
def test_worker_counts_beyond_the_machine_name_the_option(argv, message, tmp_path, model_dir, capsys, monkeypatch):
    """Probe 3 (a08, v07): 'Too many open files', or floret's abort blaming the text."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    (tmp_path / "in.txt").write_bytes(UTF8)
    status, err = run_cli([str(model_dir) if a == "model" else a for a in argv], tmp_path, capsys, monkeypatch)
    assert (status, err.strip().splitlines()[-1]) == (1, message), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
    monkeypatch.setattr(os, "cpu_count", lambda: 8)  # 32 allowed
    argv = ["annotate", str(model_dir), "missing.txt", "o.jsonl", "--n-process", "20"]
    status, err = run_cli(argv, tmp_path, capsys, monkeypatch)
    assert "--n-process" not in err and "missing.txt" in err, err


def test_vectors_import_reads_a_first_word_with_a_no_break_space(tmp_path, capsys, monkeypatch):
    """probe 6 v12: a first word holding U+00A0 was 'not a number'. spaCy reads the width
    of a file without a header from the first row split at any whitespace (and fails on
    it), its other rows at spaces: said so; with a header the file is read."""
    (tmp_path / "v.vec").write_text("a\u00a0b 1 2\nc 5 6\nd\u2003e 7 8\n", encoding="utf8")
    status, err = run_cli(["vectors-import", "v.vec", "vec"], tmp_path, capsys, monkeypatch)
    assert status == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "error: v.vec:1: the first row's word holds a whitespace character other than a space (e.g. a "
        "no-break space), and spaCy reads the vectors' width from the first row split at any whitespace: "
        "add a 'ROWS WIDTH' header line or put another row first")
    (tmp_path / "v.vec").write_text("3 2\na\u00a0b 1 2\nc 5 6\nd\u2003e 7 8\n", encoding="utf8")
    status, err = run_cli(["vectors-import", "v.vec", "vec"], tmp_path, capsys, monkeypatch)
    assert status == 0, err
    vectors = spacy.load(tmp_path / "vec").vocab.vectors
    assert sorted(vectors.strings[key] for key in vectors.keys()) == ["a\u00a0b", "c", "d\u2003e"]


@pytest.mark.parametrize("gzipped", [False, True], ids=["vec", "vec.gz"])
def test_vectors_import_drops_a_byte_order_mark(gzipped, tmp_path, capsys, monkeypatch):
    """Probe 3 (vi02): a BOM hid the header from spaCy, which read a 4 x 1 table whose
    words were 'а 0.1', ... and '\\ufeff3'."""
    import gzip

    data = BOM + "3 2\nа 0.1 0.2\nб 0.3 0.4\nв 0.5 0.6\n".encode("utf8")
    name = "v.vec.gz" if gzipped else "v.vec"
    (tmp_path / name).write_bytes(gzip.compress(data) if gzipped else data)
    # and a --truncate beyond the rows (spaCy allocated that many: 7 PiB, probe 3 vi04)
    status, err = run_cli(["vectors-import", name, "vec", "--truncate", str(10 ** 15)], tmp_path, capsys, monkeypatch)
    assert status == 0, err
    vectors = spacy.load(tmp_path / "vec").vocab.vectors
    assert vectors.shape == (3, 2)
    assert sorted(vectors.strings[key] for key in vectors.keys()) == ["а", "б", "в"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigterm_to_the_ray_driver_ends_with_one_line(tmp_path, model_dir):
    """Ray's native SIGTERM handler (a stack dump, then SIGABRT) is replaced by the command's."""
    pytest.importorskip("ray.data")
    (tmp_path / "in.txt").write_text((TEXT + "\n") * 20_000, encoding="utf8")
    proc = subprocess.Popen([sys.executable, "-m", "spacy_rnn_ner", "annotate", str(model_dir), "in.txt", "o.jsonl",
                             "--engine", "ray", "--concurrency", "1", "--batch-size", "8"], cwd=tmp_path,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    # the temporary output is made before Ray starts: wait for its first annotated lines
    # (Ray is up, the actor runs, the command's handlers are back); under load Ray's start
    # takes longer than any fixed wait, and a SIGTERM during ray.init meets Ray's own handler
    deadline = time.time() + 200
    while (not any(p.stat().st_size for p in tmp_path.glob(".o.jsonl.*.tmp"))
           and time.time() < deadline and proc.poll() is None):
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)  # to the driver alone
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("annotate hangs after SIGTERM")
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "SIGTERM received" not in err and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "interrupted: no output written", err
    assert not (tmp_path / "o.jsonl").exists()


def test_ctrl_c_while_the_workers_start_goes_to_its_handler(monkeypatch):
    """probe 5 i03: Ctrl-C while spaCy imported ``multiprocessing.queues`` for its workers
    made the handler's own clean-up fail (AttributeError, a 69-line traceback). The module
    is imported before the handler is installed, and whatever the clean-up raises, the
    interrupt goes on as ``KeyboardInterrupt``."""
    from spacy_rnn_ner.annotate import local

    def failing_stop(known):
        raise AttributeError("cannot access submodule 'queues' of module 'multiprocessing'")

    monkeypatch.setattr(local, "stop_workers", failing_stop)
    monkeypatch.delitem(sys.modules, "multiprocessing.queues", raising=False)
    with pytest.raises(KeyboardInterrupt):
        with local.quiet_workers(True):
            assert "multiprocessing.queues" in sys.modules
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)


#: a command line run as ``python -m spacy_rnn_ner`` that sends itself Ctrl-C during the
#: interpreter's shutdown (an atexit hook registered before the command's own)
CTRL_C_AT_EXIT = """
import atexit, os, signal, sys, time
sys.orig_argv = [sys.executable, "-m", "spacy_rnn_ner", *sys.argv[1:]]
atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(2)))
from spacy_rnn_ner.__main__ import main
sys.exit(main())
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("argv,status", [(["convert", "conll", "a.conll", "o.spacy"], 0),
                                         (["convert", "conll", "missing.conll", "o.spacy"], 1)],
                         ids=["done", "failed"])
def test_ctrl_c_during_the_interpreters_shutdown_is_one_line(argv, status, tmp_path):
    """probe 5 q02 (probe 4 q13): Ctrl-C after the command ended, while the interpreter ran
    its shutdown hooks, printed 'Exception ignored in atexit callback ... KeyboardInterrupt'
    with a traceback; now the usual line and the signal's status."""
    (tmp_path / "a.conll").write_bytes(CONLL)
    proc = subprocess.run([sys.executable, "-c", CTRL_C_AT_EXIT, *argv], cwd=tmp_path, env=env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=100)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "error: stopped by signal 2", proc.stderr
    assert proc.returncode == 130
    assert (tmp_path / "o.spacy").exists() == (status == 0)
