"""The ``rnn-ner`` command line: typer commands behind ``python -m spacy_rnn_ner`` and
``python -m spacy rnn-ner``, today's arguments, one error convention."""
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import List

import pytest
import srsly
import typer

from spacy_rnn_ner.__main__ import main
from spacy_rnn_ner.cli import app
from spacy_rnn_ner.cli._util import expand_multi_values

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {"convert", "report", "compare", "compare-decoding", "pretrain-text", "vectors"}


def parse_only(argv: List[str]) -> None:
    """Parse ``argv`` down to the leaf command without running it (click usage errors
    propagate)."""
    command = typer.main.get_command(app)
    ctx = command.make_context("rnn-ner", list(argv))
    while hasattr(command, "resolve_command"):
        name, command, rest = command.resolve_command(ctx, ctx._protected_args + ctx.args)
        ctx = command.make_context(name, rest, parent=ctx)


def rnn_ner_lines(text: str) -> List[List[str]]:
    """Arguments of every ``python -m spacy_rnn_ner ...`` command in ``text``."""
    out = []
    for line in text.splitlines():
        if "python -m spacy_rnn_ner " in line:
            rest = line.split("python -m spacy_rnn_ner ", 1)[1]
            rest = rest.split("`")[0]
            if rest.count('"') % 2:  # the closing quote of a YAML or Markdown string around it
                rest = rest.rstrip('"')
            argv = shlex.split(rest, comments=True)
            if not {"...", "FORMAT", "COMMAND"} & set(argv):  # usage lines, not examples
                out.append(argv)
    return out


def test_commands_are_registered():
    command = typer.main.get_command(app)
    assert set(command.commands) >= COMMANDS
    assert set(command.commands["convert"].commands) == {"ner-uk", "conll", "hf", "nemo", "to-nemo"}


def test_project_and_readme_arguments_still_parse():
    project = srsly.read_yaml(REPO / "project.yml")
    scripts = "\n".join(line for cmd in project["commands"] for line in cmd["script"])
    lines = rnn_ner_lines(scripts) + rnn_ner_lines((REPO / "README.md").read_text(encoding="utf-8"))
    assert {line[0] for line in lines} >= {"convert", "report", "compare", "pretrain-text", "vectors",
                                           "vectors-import", "compare-decoding"}
    values = {name: str(value) for name, value in project["vars"].items()}
    for argv in lines:
        argv = [re.sub(r"\$\{vars\.(\w+)\}", lambda m: values[m.group(1)], a) for a in argv]
        parse_only(argv)


def test_names_take_several_values():
    assert expand_multi_values(["a.json", "--names", "A", "B", "--output", "o.md"], ["--names"]) == \
        ["a.json", "--names", "A", "--names", "B", "--output", "o.md"]
    parse_only(["compare", "a.json", "b.json", "--names", "A", "B", "--output", "c.md"])


def test_unknown_command_and_bad_values_exit_with_1(capsys, tmp_path):
    assert main(["bogus"]) == 1
    assert "unknown command 'bogus'" in capsys.readouterr().err
    assert main(["convert", "bogus"]) == 1
    assert "unknown command 'bogus'" in capsys.readouterr().err
    text = tmp_path / "t.txt"
    text.write_text("a b c\n", encoding="utf-8")
    for option in (["--dim", "0"], ["--epoch", "-1"]):
        assert main(["vectors", str(text), str(tmp_path / "v.floret"), *option]) == 1
        assert option[0] in capsys.readouterr().err
    assert not (tmp_path / "v.floret").exists()
    assert main(["--help"]) == 0
    assert "compare-decoding" in capsys.readouterr().out


def test_vectors_function_rejects_bad_sizes(tmp_path):
    from spacy_rnn_ner.errors import InputError
    from spacy_rnn_ner.resources.vectors import train_floret_vectors

    text = tmp_path / "t.txt"
    text.write_text("a b c\n", encoding="utf-8")
    with pytest.raises(InputError, match="dim must be at least 1"):
        train_floret_vectors(text, tmp_path / "v.floret", dim=0)
    with pytest.raises(InputError, match="epoch must be at least 1"):
        train_floret_vectors(text, tmp_path / "v.floret", epoch=-1)


def test_error_is_one_line_without_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "spacy_rnn_ner", "compare", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 1
    assert done.stderr == f"error: {tmp_path}: is a folder, expected a file\n"


def spacy_cli_env(tmp_path: Path) -> dict:
    """PYTHONPATH with this checkout and, when the installed metadata lacks it, a probe
    distribution declaring the ``spacy_cli`` entry point of pyproject.toml."""
    import importlib.metadata

    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    entry = declared["project"]["entry-points"]["spacy_cli"]
    assert entry == {"rnn-ner": "spacy_rnn_ner.cli.spacy_cli:app"}
    paths = [str(REPO)]
    installed = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="spacy_cli")}
    if installed.get("rnn-ner") != entry["rnn-ner"]:
        info = tmp_path / "site" / "spacy_rnn_ner_cli_probe-0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: spacy-rnn-ner-cli-probe\n"
                                       "Version: 0\n", encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[spacy_cli]\nrnn-ner = {entry['rnn-ner']}\n",
                                               encoding="utf-8")
        paths.append(str(tmp_path / "site"))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@pytest.mark.slow  # several `python -m spacy` subprocesses
def test_commands_appear_under_spacy_cli(tmp_path):
    env = spacy_cli_env(tmp_path)

    def spacy(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "spacy", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    done = spacy("--help")
    assert done.returncode == 0 and "rnn-ner" in done.stdout, done.stderr
    done = spacy("rnn-ner", "--help")
    assert done.returncode == 0 and all(c in done.stdout for c in COMMANDS), done.stdout
    done = spacy("rnn-ner", "convert", "bogus")
    assert done.returncode == 1 and "unknown command 'bogus'" in done.stderr
    conll = tmp_path / "a.conll"
    conll.write_text("EU B-ORG\nsays O\n", encoding="utf-8")
    done = spacy("rnn-ner", "convert", "conll", str(conll), str(tmp_path / "a.spacy"))
    assert done.returncode == 0 and "ORG" in done.stdout, done.stderr
    conll.write_bytes(b"EU \xd2\n")
    done = spacy("rnn-ner", "convert", "conll", str(conll), str(tmp_path / "b.spacy"))
    assert done.returncode == 1
    assert done.stderr == f"error: {conll}: not UTF-8 (byte 0xd2 at offset 3)\n"
