"""project.yml: every workflow step declares what it reads and writes (so weasel can skip
or re-run it), no nested ``spacy project run``, ablation configs as overrides, and the
project runs in a temporary copy without touching the checkout."""
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
from spacy.cli._util import parse_config_overrides
from spacy.util import load_config
from weasel.util import load_project_config

from test_converters import write_corpus
from test_converters_ner_uk_v2 import write_v2

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Dict:
    copy = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "project.yml", copy)
    return load_project_config(copy)


def commands(project: Dict) -> Dict[str, Dict]:
    return {cmd["name"]: cmd for cmd in project["commands"]}


def test_no_nested_project_runs(project):
    for cmd in project["commands"]:
        for line in cmd["script"]:
            assert "project run" not in line, (cmd["name"], line)


def test_workflow_steps_declare_their_inputs(project):
    """Each dependency of a workflow step is an output of an earlier step, or an input
    the user gives (data variables, configs)."""
    cmds = commands(project)
    external = [project["vars"][k] for k in ("ner_uk_dir", "brown_uk_dir")] + ["configs/"]
    for name, steps in project["workflows"].items():
        produced = set()
        for step in steps:
            cmd = cmds[step]
            assert cmd.get("outputs") or cmd.get("no_skip"), f"{step} declares no outputs"
            for path in cmd.get("deps", []) + cmd.get("outputs", []):
                assert ", " not in path, (step, path)  # interpolation joined two items
            for dep in cmd.get("deps", []):
                assert dep in produced or any(dep.startswith(e) for e in external), (name, step, dep)
            produced.update(cmd.get("outputs", []))


def test_declared_inputs_and_outputs(project):
    cmds, v = commands(project), project["vars"]
    assert "resources/lexicons" in cmds["train"]["deps"]
    assert f"{v['ner_uk_dir']}/v1.0/data" in cmds["convert"]["deps"]
    assert v["brown_uk_dir"] in cmds["pretrain-text"]["deps"]
    assert f"metrics/report_{v['rnn_type']}.json" in cmds["report"]["outputs"]
    assert cmds["compare-table"]["outputs"] == ["metrics/compare.md"]
    # compare writes its own models, never the ones of `all`
    all_outputs = {out for step in project["workflows"]["all"] for out in cmds[step].get("outputs", [])}
    compare_only = set(project["workflows"]["compare"]) - set(project["workflows"]["all"])
    for step in compare_only:
        assert not all_outputs & set(cmds[step]["outputs"]), step


#: the variables that name files or folders (a user's path may hold a space)
PATH_VARS = ("ner_uk_dir", "brown_uk_dir", "iso_locale_dir", "config", "vectors", "tracking_uri")


def test_path_variables_with_spaces_stay_one_argument(tmp_path):
    """Issue 28: weasel splits a script line with shlex, so a path variable left unquoted
    breaks at a space ('my corpus' became two arguments)."""
    copy = tmp_path / "p"
    copy.mkdir()
    shutil.copy(REPO / "project.yml", copy)
    spaced = {name: f"my {name} dir" for name in PATH_VARS}
    project = load_project_config(copy, overrides={f"vars.{name}": value for name, value in spaced.items()})
    seen = set()
    for cmd in project["commands"]:
        for line in cmd["script"]:
            argv = shlex.split(line)
            for name, value in spaced.items():
                if value in line:
                    seen.add(name)
                    assert any(value in arg for arg in argv) and not any(
                        arg in value.split() for arg in argv), (cmd["name"], name, line)
    assert seen == set(PATH_VARS)


@pytest.mark.parametrize("step,char_encoder", [("ablation-base", False), ("ablation-chars", True)])
def test_ablation_overrides(project, step, char_encoder):
    assert not (REPO / "configs" / "ablation").exists()
    line = commands(project)[step]["script"][0]
    argv = shlex.split(line)
    config_path = REPO / argv[argv.index("train") + 1]
    overrides = parse_config_overrides(argv[argv.index("--output") + 2:argv.index("--gpu-id")])
    config = load_config(config_path, overrides=overrides, interpolate=False)
    tok2vec = config["components"]["rnn_ner"]["model"]["tok2vec"]
    assert config["paths"]["vectors"] is None
    assert tok2vec["include_static_vectors"] is False and tok2vec["extra_features"] is None
    assert (tok2vec["char_encoder"] is not None) == char_encoder


@pytest.mark.slow  # three `spacy project run` subprocesses
def test_project_runs_in_a_temporary_copy(tmp_path):
    corpus = write_v2(write_corpus(tmp_path / "my ner-uk"))  # a space in a path variable (issue 28)
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(REPO / "project.yml", copy)
    shutil.copytree(REPO / "configs", copy / "configs")
    before = {p: p.stat().st_mtime for d in ("corpus", "training", "metrics")
              for p in (REPO / d).rglob("*")} if (REPO / "corpus").exists() else {}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-m", "spacy", "project", "run", "convert", str(copy),
            "--vars.ner_uk_dir", str(corpus)]
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (copy / "corpus" / "train.spacy").is_file()
    again = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "Skipping 'convert': nothing changed" in again.stdout, again.stdout
    (corpus / "v1.0" / "data" / "doc_00.tok.txt").write_text("Інший текст .\n", encoding="utf-8")
    third = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "Skipping" not in third.stdout  # a changed input makes the step stale
    after = {p: p.stat().st_mtime for d in ("corpus", "training", "metrics")
             for p in (REPO / d).rglob("*")} if (REPO / "corpus").exists() else {}
    assert after == before


@pytest.mark.parametrize("name", ["train", "train-v2"])
def test_an_empty_rnn_type_reaches_the_model_as_a_value(tmp_path, name):
    """``--vars.rnn_type ''`` must not leave the override flags without a value (spaCy would
    read them as ``true`` and name the logger, not rnn_type)."""
    shutil.copy(REPO / "project.yml", tmp_path)
    cmd = commands(load_project_config(tmp_path, overrides={"vars.rnn_type": ""}))[name]
    args = shlex.split(cmd["script"][0])
    args = [a for i, a in enumerate(args) if "--gpu-id" not in args[i - 1:i + 1]]
    overrides = parse_config_overrides(args[args.index("--output") + 2:])
    assert overrides["components.rnn_ner.model.rnn_type"] == ""
    assert overrides.get("training.logger.run_name", "") == ""


@pytest.mark.parametrize("value", ["", "a b", "gru'"], ids=["empty", "space", "single-quote"])
def test_every_variable_stays_one_argument_value(tmp_path, value):
    """probe 5 pr01/pr03/pr08 (and pr07): every ``${vars.*}`` in a command line is quoted,
    so an empty value, one with a space or with a single quote stays one argument (or part
    of one), and reaches the command as the value of its option: ``--lang ''`` is not
    ``--lang --seed``, ``--output training/lstm x`` is not two arguments."""
    shutil.copy(REPO / "project.yml", tmp_path)
    base = load_project_config(tmp_path)
    names = sorted(base["vars"])
    lines = {(cmd["name"], i): line for cmd in base["commands"] for i, line in enumerate(cmd["script"])}
    used = set()
    for name in names:
        changed = load_project_config(tmp_path, overrides={f"vars.{name}": value})
        for cmd in changed["commands"]:
            for i, line in enumerate(cmd["script"]):
                if line == lines[(cmd["name"], i)]:
                    continue  # the variable is not in this line
                used.add(name)
                before, after = shlex.split(lines[(cmd["name"], i)]), shlex.split(line)
                assert len(after) == len(before), (name, cmd["name"], line)
                differ = [(b, a) for b, a in zip(before, after) if b != a]
                default = base["vars"][name]
                plain = json.dumps(default) if isinstance(default, bool) else str(default)
                assert differ and all((a == b.replace(plain, value)) if plain else value in a
                                      for b, a in differ), (name, cmd["name"], line)
    assert used  # the project's variables were seen in its command lines
