"""The architecture contracts in pyproject's [tool.importlinter] hold, and the checker bites."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import repo_root

LINT = str(Path(sys.executable).with_name("lint-imports"))


def lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT, "--no-cache", *args], cwd=repo_root(), capture_output=True, text=True, timeout=120)


def test_every_contract_is_kept():
    out = lint()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_a_broken_contract_fails_the_check(tmp_path):
    # The TUI does import the API client: a contract forbidding it must be reported broken.
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["factoryos", "tui"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "tui without the client"\ntype = "forbidden"\n'
        'source_modules = ["tui"]\nforbidden_modules = ["factoryos.client"]\n'
    )
    out = lint(str(config))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "tui without the client BROKEN" in out.stdout
