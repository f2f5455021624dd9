"""reasonmill.llm is core: it imports no stage package and never Prefect."""

from __future__ import annotations

import ast
from pathlib import Path

import reasonmill.llm

FORBIDDEN = ("reasonmill.generators", "reasonmill.verifiers", "reasonmill.pipelines", "prefect")


def test_llm_package_imports_no_stage_and_no_prefect():
    for path in Path(reasonmill.llm.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
