"""The README's first two commands are the ones a new user runs: check both for real."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import free_port, repo_root

README = repo_root() / "README.md"


def readme_commands() -> tuple[str, str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2, "the README must open with two bash blocks: run, then test"
    return blocks[0].strip(), blocks[1].strip()


def test_readme_opens_with_run_then_test_commands() -> None:
    run, test = readme_commands()
    assert run.endswith("factoryos demo"), run
    assert test == "scripts/test.sh --all", "the README's test command runs the whole suite"
    script = repo_root() / "scripts" / "test.sh"
    assert script.exists() and os.access(script, os.X_OK)
    ci = (repo_root() / ".ci" / "run").read_text().splitlines()
    assert test in ci, ".ci/run must run the README's test command"


@pytest.mark.slow
def test_readme_run_command_works_from_a_fresh_copy(pg_tmp: Path) -> None:
    """Copy the tree (without its venv), run the README's command with a bounded demo.

    The copy lives outside pytest's basetemp too: its venv holds the PostgreSQL binaries,
    which the unprivileged user PostgreSQL runs as under root must be able to reach."""
    run, _ = readme_commands()
    copy = pg_tmp / "factoryos"
    shutil.copytree(
        repo_root(), copy,
        ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", ".pytest_cache", "*.egg-info"),
    )
    data = pg_tmp / "data"
    env = {**os.environ, "FACTORYOS_DATA_DIR": str(data), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    command = f"{run} --headless --for 5s --port {free_port()}"
    proc = subprocess.run(["bash", "-c", command], cwd=copy, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "demo stopped" in proc.stdout
