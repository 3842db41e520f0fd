"""`factoryos backup restore --to … --install-dir` refusals that need no engine: each one red line,
exit 1, and nothing written (the Docker path itself: test_pitr_compose_docker.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.backup import app as backup_cli
from installer.envfile import VERSION, ensure_env
from installer.pitr_compose import VOLUME_ENV, current_volume
from tests.cli_support import Outcome, one_red_line

runner = CliRunner()


def _run(*args: str) -> Outcome:
    done = runner.invoke(backup_cli, list(args), env={"COLUMNS": "300"})
    return Outcome(done.exit_code, done.stdout, done.stderr)


@pytest.fixture
def install_dir(tmp_path: Path) -> Path:
    root = tmp_path / "opt"
    ensure_env(root / ".env", {VERSION: "1.2.3"})
    (root / "backups").mkdir()
    return root


def test_without_a_base_backup_the_window_is_named(install_dir: Path) -> None:
    one_red_line(_run("restore", "--to-latest", "--install-dir", str(install_dir), "--yes"),
                 "no point-in-time recovery possible", "no base backup")  # fmt: skip
    assert current_volume(install_dir) == "factoryos_pgdata"
    assert sorted(p.name for p in install_dir.iterdir()) == [".env", "backups"]


def test_a_dump_is_not_restored_from_the_host(install_dir: Path) -> None:
    one_red_line(_run("restore", "manual-x", "--install-dir", str(install_dir), "--yes"), "--install-dir goes with --to")


def test_a_time_that_is_not_one_is_refused(install_dir: Path) -> None:
    one_red_line(_run("restore", "--to", "yesterday noon", "--install-dir", str(install_dir), "--yes"),
                 "is not a time")  # fmt: skip
    assert VOLUME_ENV not in (install_dir / ".env").read_text()
