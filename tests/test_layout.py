"""The dependency direction: pipelines → generators, verifiers → core; core imports no stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "reasonmill": ("reasonmill.generators", "reasonmill.verifiers", "reasonmill.pipelines", "prefect"),
    "generators": ("reasonmill.verifiers", "reasonmill.pipelines", "prefect"),
    "verifiers": ("reasonmill.generators", "reasonmill.pipelines", "prefect"),
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_dependency_direction(folder):
    bad = []
    for path in (ROOT / folder).rglob("*.py"):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[folder]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_every_public_function_and_class_has_a_docstring():
    missing = []
    for folder in ("reasonmill", "generators", "verifiers", "pipelines"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                    if ast.get_docstring(node) is None:
                        missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not missing, "\n".join(missing)


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    top = {"reasonmill": "reasonmill", "generators": "reasonmill.generators", "verifiers": "reasonmill.verifiers",
           "pipelines": "reasonmill.pipelines", "data": "reasonmill.data"}[parts[0]]
    name = ".".join([top, *parts[1:]])
    return name.removesuffix(".__init__")


def _imports_outside_type_checking(path: Path) -> set[str]:
    # Every import, lazy ones inside functions included (a cycle through a lazy import is still a
    # cycle in the design); only `if TYPE_CHECKING:` blocks are left out.
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)
            for n in ast.walk(node)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_import_cycle_in_the_package():
    files = {_module_name(p): p for folder in ("reasonmill", "generators", "verifiers", "pipelines") for p in (ROOT / folder).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        deps = {n for n in _imports_outside_type_checking(path) if n in files and n != mod}
        # A package's __init__ re-exporting its own submodules is not a cycle with them.
        graph[mod] = {d for d in deps if not d.startswith(mod + ".")} if path.name == "__init__.py" else deps
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles[:10])
