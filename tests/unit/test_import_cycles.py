"""No import cycles between lanecam's modules: every module-level import (outside
``if TYPE_CHECKING:``) of one lanecam module by another is an edge, and the graph has no cycle.
Function-level (lazy) imports are not counted: they run after both modules exist."""

from __future__ import annotations

import ast
from pathlib import Path

import lanecam

ROOT = Path(lanecam.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        pkg = mod.split(".") if is_pkg else mod.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    return [base] + [f"{base}.{a.name}" for a in node.names]


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_imports(tree: ast.Module) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    todo = list(tree.body)
    while todo:
        st = todo.pop()
        if isinstance(st, (ast.Import, ast.ImportFrom)):
            out.append(st)
        elif isinstance(st, ast.If) and not _is_type_checking(st.test):
            todo += st.body + st.orelse
        elif isinstance(st, ast.Try):
            todo += st.body + st.orelse + st.finalbody
    return out


def graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in ROOT.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for st in _top_imports(tree):
            names = ([a.name for a in st.names] if isinstance(st, ast.Import)
                     else _resolve(mod, path.name == "__init__.py", st))
            edges[mod] |= {n for n in names if n in files and n != mod}
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_genicam_xml_helpers_live_in_their_own_module() -> None:
    edges = graph()
    seed, xml = "lanecam.devices.cameras.genicam_seed", "lanecam.devices.cameras.genicam_xml"
    assert xml not in edges[seed] and seed not in edges[xml]
    assert "lanecam.devices.cameras.genicam_elements" in edges[seed] & edges[xml]
    # and no lazy import of the loader by the seeder either (only a TYPE_CHECKING one)
    src = (ROOT / "devices" / "cameras" / "genicam_seed.py").read_text(encoding="utf-8")
    lazy = [n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)
            and n.module == "genicam_xml" and n not in _top_imports(ast.parse(src))]
    assert all(n.col_offset == 4 for n in lazy)  # the one under `if TYPE_CHECKING:`


def test_no_module_level_import_cycle() -> None:
    edges = graph()
    assert _cycle(edges) is None, _cycle(edges)


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
