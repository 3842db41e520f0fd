"""`factoryos poller`: runs against the database, reports what it polls, refuses a second copy."""

from __future__ import annotations

import fcntl
from pathlib import Path

import typer
from typer.testing import CliRunner

from cli import poller

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    poller.register(app)
    app.command("noop", hidden=True)(lambda: None)  # two commands: Typer keeps `poller` as a subcommand
    return app


def _env(db_urls, data_dir: Path) -> dict[str, str]:
    return {"FACTORYOS_DATABASE_URL": db_urls.app, "FACTORYOS_DATA_DIR": str(data_dir),
            "FACTORYOS_SECRET_KEY": "cli-test-secret-" + "x" * 32, "FACTORYOS_LOG_LEVEL": "warning"}


def test_poller_runs_and_stops(db_urls, tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["poller", "--duration", "0.5", "--reload", "0.2"], env=_env(db_urls, tmp_path))
    assert result.exit_code == 0, result.output
    assert "Polling" in result.output and "Poller stopped." in result.output
    assert (tmp_path / "connectivity" / "spool.sqlite3").is_file()


def test_a_second_poller_on_the_same_data_dir_is_refused(db_urls, tmp_path: Path) -> None:
    lock = tmp_path / "connectivity" / "poller.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("4242")
        held.flush()
        result = runner.invoke(_app(), ["poller", "--duration", "0.5"], env=_env(db_urls, tmp_path))
    assert result.exit_code == 1
    assert "process 4242" in result.output and "FACTORYOS_POLLER=0" in result.output
