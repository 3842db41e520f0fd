"""Settings are read through `factoryos.config.Settings` only; the environment reads left are
the listed exceptions, each with its reason in the file."""

from __future__ import annotations

import ast

from tests.conftest import repo_root

EXCEPTIONS = {
    "factoryos/config.py": "Settings itself",
    "factoryos/client/profile.py": "a terminal's own files: the client machine has no server settings",
    "factoryos/licensing/hostid.py": "also runs on the host, in the installer",
    "factoryos/licensing/keys.py": "also runs in the installer and vendor tools; tests and private builds",
    "factoryos/backup/pgtools.py": "copies the environment for pg_dump, adding PGPASSWORD",
    "server/workers.py": "a value the parent hands its worker processes",
    "server/slow_clients.py": "uvicorn imports it by path in each worker process",
    "cli/serve.py": "writes what the worker processes read",
    "server/metrics_setup.py": "prometheus_client reads its multiprocess directory from the environment itself",
    "server/metrics.py": "whether prometheus_client runs in multiprocess mode (that same variable)",
}


def _reads_environment(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in {"environ", "getenv", "environb", "getenvb"}:
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" \
                and any(a.name in {"environ", "getenv"} for a in node.names):
            return True
    return False


def test_environment_is_read_only_through_settings():
    root = repo_root()
    readers = {
        path.relative_to(root).as_posix()
        for package in ("factoryos", "server", "cli")
        for path in (root / package).rglob("*.py")
        if _reads_environment(ast.parse(path.read_text()))
    }
    assert readers - EXCEPTIONS.keys() == set(), "read it as a field of factoryos.config.Settings"
