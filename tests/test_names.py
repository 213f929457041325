"""One word, one meaning across the package: ``spec`` is always an ``AlgorithmSpec`` (a token
profile is a ``profile``), so a reader never has to look up which one a function holds."""

from __future__ import annotations

import ast
from pathlib import Path

import jwtwarden

SRC = Path(jwtwarden.__file__).parent


def _spec_uses() -> list[tuple[str, int, str]]:
    found: list[tuple[str, int, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(SRC))
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and node.arg == "spec":
                found.append((where, node.lineno, ast.unparse(node.annotation or ast.Name("?"))))
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id == "spec":
                        found.append((where, node.lineno, ast.unparse(node.value)))
    return found


def test_should_use_spec_only_for_an_algorithm_spec():
    uses = _spec_uses()
    assert uses, "the scan found no spec at all: it no longer reads the package"
    # an annotation AlgorithmSpec, or the value of spec_for() / _pinned_spec()
    allowed = ("spec_for(", "_pinned_spec(")
    wrong = [use for use in uses if use[2] != "AlgorithmSpec" and not use[2].startswith(allowed)]
    assert wrong == []
