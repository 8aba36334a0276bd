"""The layering rules, checked on the import graph (see graph.py) and the source text."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.architecture.graph import find_cycle, import_graph, project_modules

ROOT = Path(__file__).resolve().parents[2]
GRAPH = import_graph(ROOT)
# Capability packages: they build on mmrag.core (and on each other, downward), never on the facade.
CAPABILITIES = ("mmrag.ingest", "mmrag.documents", "mmrag.images", "mmrag.retrieval", "mmrag.tables",
                "mmrag.video", "mmrag.generate", "mmrag.answer", "mmrag.tune")
MAX_LINES = 300


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _imports(src: str, dst: str) -> list[tuple[str, str, int]]:
    """(a, b, line) for every import from a module under `src` into one under `dst`."""
    return [(a, b, line) for a, targets in sorted(GRAPH.items()) if _in(a, src)
            for b, line in targets.items() if _in(b, dst)]


def _edges(src: str, dst: str) -> list[str]:
    """'a -> b (line n)' for every import from a module under `src` into one under `dst`."""
    return [f"{a} -> {b} (line {line})" for a, b, line in _imports(src, dst)]


def test_the_graph_sees_every_kind_of_import(tmp_path):
    """Module level, inside a function, under TYPE_CHECKING, relative and absolute: all are edges,
    and a cycle made of them is found (so the checks below can fail)."""
    pkg = tmp_path / "mmrag"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .b import thing\n")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    import mmrag.c\n")
    (pkg / "c.py").write_text("from . import a\n")
    graph = import_graph(tmp_path)
    assert set(graph["mmrag.a"]) == {"mmrag.sub.b"} and set(graph["mmrag.sub.b"]) == {"mmrag.c"}
    assert set(graph["mmrag.c"]) == {"mmrag.a"} and set(graph["mmrag.sub"]) == {"mmrag.sub.b"}
    assert find_cycle(graph, "mmrag") == ["mmrag.a", "mmrag.sub.b", "mmrag.c", "mmrag.a"]
    assert len(GRAPH) > 80 and GRAPH["mmrag.library"]


def test_no_import_cycle_in_mmrag():
    cycle = find_cycle(GRAPH, "mmrag")
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("src,dst", [("mmrag", "ui"), ("encoders", "mmrag"), ("encoders", "ui"),
                                     ("indexes", "mmrag"), ("indexes", "ui"), ("encoders", "indexes"),
                                     ("indexes", "encoders")])
def test_forbidden_package_edges(src, dst):
    assert _edges(src, dst) == []


def test_core_depends_on_nothing_above_it():
    allowed = ("mmrag.core", "mmrag.errors", "mmrag.records", "mmrag.kinds")
    bad = [(a, b, line) for a, b, line in _imports("mmrag.core", "mmrag") if not any(_in(b, p) for p in allowed)]
    assert bad == []


@pytest.mark.parametrize("package", CAPABILITIES)
def test_capabilities_never_import_the_facade(package):
    assert _edges(package, "mmrag.library") == []
    assert [(a, line) for a, b, line in _imports(package, "mmrag") if b == "mmrag"] == []


def test_ui_uses_only_the_public_api():
    assert [(a, b, line) for a, b, line in _imports("ui", "mmrag") if b != "mmrag"] == []


def test_only_the_store_runs_sql_on_the_store():
    """No module but mmrag.core.store reaches for the SQLite connection (`<x>.store.db` or `.db.execute`)."""
    offenders = []
    for name, path in project_modules(ROOT).items():
        if name.startswith("mmrag.core.store") or not name.startswith("mmrag"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "db" and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "store":
                offenders.append(f"{name} line {node.lineno}")
    assert offenders == []


def test_modules_stay_small():
    long = {name: n for name, path in project_modules(ROOT).items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
