"""The terminal app is a LAN client: importing all of it loads no server, database driver or SQL layer."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import repo_root

SCRIPT = """
import importlib, pkgutil, sys
import tui.app, tui.screens, tui.widgets
for pkg in (tui.screens, tui.widgets):
    for m in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{m.name}")
# Importing a module runs its package's __init__ first, which import-linter does not see:
# this catches a heavy __init__ pulling SQLAlchemy in behind a pure model module.
banned = ("server", "psycopg", "psycopg_pool", "sqlalchemy", "alembic", "starlette", "uvicorn", "typer",
          "factoryos.db", "factoryos.schema")
print(sorted(m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in banned)))
"""


def test_tui_imports_no_server_or_database_modules():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=repo_root(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
