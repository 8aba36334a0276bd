"""The project's import graph, read with `ast` (no imports run).

Every `import` and `from ... import` counts, wherever it is: module level, inside functions, under
`if TYPE_CHECKING:` (a type is a dependency too). `from pkg import name` is an edge to `pkg.name`
when that is a module of the project, else to `pkg`. Importing a submodule is not counted as
importing its parent package (Python runs the parent's `__init__` first, but every package would
then depend on its own root).
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("mmrag", "encoders", "indexes", "ui")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path) -> dict[str, Path]:
    """{dotted name: file} for every module of the project's packages."""
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            out[module_name(root, path)] = path
    return out


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(current: str, is_pkg: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = current.split(".") if is_pkg else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[tuple[str, int]]:
    """(imported project module, line) pairs of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add((_closest(alias.name, modules), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, _is_package(path), node.level, node.module)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add((sub if sub in modules else _closest(target, modules), node.lineno))
    return {(m, line) for m, line in found if m and m != name}


def _closest(dotted: str, modules: dict[str, Path]) -> str:
    """The longest prefix of `dotted` that is a project module ('' when none)."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        cand = ".".join(parts[:n])
        if cand in modules:
            return cand
    return ""


def import_graph(root: Path) -> dict[str, dict[str, int]]:
    """{module: {imported module: first line}} over the project's packages."""
    modules = project_modules(root)
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges: dict[str, int] = {}
        for target, line in sorted(imports_of(name, path, modules), key=lambda x: x[1]):
            edges.setdefault(target, line)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, dict[str, int]], within: str) -> list[str] | None:
    """One import cycle among modules under `within`, as [a, b, ..., a], or None."""
    nodes = [n for n in graph if n == within or n.startswith(within + ".")]
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in graph[n]:
            if m not in graph or not (m == within or m.startswith(within + ".")):
                continue
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (cyc := visit(m)):
                return cyc
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(nodes):
        if n not in state and (cyc := visit(n)):
            return cyc
    return None
