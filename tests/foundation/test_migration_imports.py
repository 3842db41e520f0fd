"""Revisions are self-contained: editing live code cannot change what an old revision creates."""

from __future__ import annotations

import ast
import hashlib

from tests.conftest import repo_root

MIGRATIONS = repo_root() / "factoryos" / "db" / "migrations"
# helpers_v1.py is frozen: a revision needing other helpers gets a new helpers_vN.py.
FROZEN = {"helpers_v1.py": "e343780c5fb76667d3e7af71787f3d30200eebc775e4179346500368d6e67de2"}


def _project_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [m for m in found if m == "factoryos" or m.startswith("factoryos.")]


def test_revisions_import_only_frozen_helpers():
    revisions = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert revisions
    offending = {
        p.name: m
        for p in revisions
        for m in _project_imports(ast.parse(p.read_text()))
        if not m.startswith("factoryos.db.migrations.helpers_v")
    }
    assert offending == {}, "a revision imports live code; import a frozen helpers_vN instead"


def test_frozen_helpers_are_unchanged():
    for name, digest in FROZEN.items():
        assert hashlib.sha256((MIGRATIONS / name).read_bytes()).hexdigest() == digest, (
            f"{name} is frozen: copy it to a new helpers_vN.py for new revisions instead of editing it")
