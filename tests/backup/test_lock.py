"""One backup or restore at a time across processes: the server's workers and the CLI take
the lock beside the backups, and a server with several workers refuses API restores."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from cli.backup import app
from factoryos.backup.catalog import list_backups
from tests.accounts import new_company
from tests.backup.support import Island, app_of, installation_admin, island_settings, start_server
from tests.conftest import LiveServer

runner = CliRunner()

_HOLDER = """
import sys
from pathlib import Path
from factoryos.backup.lock import exclusive
with exclusive(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def held_by_another_process(directory: Path) -> Iterator[int]:
    """Another process in the middle of a backup or restore of `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(directory)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc.pid
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


def test_the_server_answers_409_while_another_process_backs_up(api: httpx.Client, island_server: LiveServer) -> None:
    owner = installation_admin(island_server, new_company(api))
    directory = app_of(island_server).state.backups.directory
    with held_by_another_process(directory) as pid:
        r = api.post("/api/v1/backup/create", json={}, headers=owner.headers)
        assert r.status_code == 409 and r.json()["code"] == "backup_in_progress", r.text
        assert f"process {pid}" in r.json()["detail"]
    assert api.post("/api/v1/backup/create", json={}, headers=owner.headers).status_code == 201


def test_cli_backup_and_restore_wait_for_another_process(cli_env: Path, api: httpx.Client) -> None:
    new_company(api)
    assert runner.invoke(app, ["create", "--label", "first"]).exit_code == 0
    [backup] = list_backups(cli_env)
    with held_by_another_process(cli_env):
        for args in (["create"], ["restore", backup.name, "--yes"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 1, result.output
            assert "another backup or restore is running" in result.output
            assert "Traceback" not in result.output
    assert [b.name for b in list_backups(cli_env)] == [backup.name]  # nothing half-written


def test_a_server_with_several_workers_refuses_api_restores(island: Island, tmp_path: Path) -> None:
    server = start_server(island, island_settings(tmp_path, workers=2))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            owner = installation_admin(server, new_company(http))
            made = http.post("/api/v1/backup/create", json={}, headers=owner.headers).json()
            r = http.post("/api/v1/backup/restore", json={"name": made["name"], "confirm": made["name"]},
                          headers=owner.headers)  # fmt: skip
    finally:
        server.stop()
    assert r.status_code == 409 and r.json()["code"] == "restore_needs_one_worker", r.text
    assert "--workers 1" in r.json()["detail"]
