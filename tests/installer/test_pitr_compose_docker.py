"""Point-in-time recovery of a Compose install on a real Docker engine: the api streams the WAL
and takes a base backup into the host's backup folder (seen in /system/health) → rows written,
the time noted, more rows → `factoryos backup restore --to` on the host restores into a new
volume, checks it and switches the stack → the rows of the noted time, archiving going on, the
old volume kept → discard-replaced removes it. Installed in a deep folder (see the test).

Uses this checkout's images when the engine has them (the e2e test or `bundle build` made them),
else builds them once (wheelhouse + three images: minutes). The figures printed are the measured
archive lag (RPO) and restore time (RTO), not asserted beyond the RPO setting.
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import typer
from typer.testing import CliRunner

from factoryos import __version__
from installer.images import build_images, missing_images
from installer.pitr_compose import DEFAULT_VOLUME, current_volume
from installer.stack import Stack
from installer.wheelhouse import build_wheelhouse
from tests.installer.test_e2e_docker import BASE_IMAGE, _free_port, _psql, engine  # noqa: F401 (fixture)

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]


def _cli() -> typer.Typer:
    from cli import backup, install

    app = typer.Typer()
    install.register(app)
    app.add_typer(backup.app, name="backup")
    return app


def _run(args: list[str]) -> str:
    started = time.monotonic()
    result = CliRunner().invoke(_cli(), args)
    print(f"[pitr] factoryos {' '.join(args[:2])}: {time.monotonic() - started:.1f} s")
    assert result.exit_code == 0, result.output
    return result.output


def _images(client: docker.DockerClient, tmp_path: Path) -> None:
    if not missing_images(client, __version__):
        return
    started = time.monotonic()
    house = tmp_path / "wheels"
    build_wheelhouse(house)
    build_images(client, base_image=BASE_IMAGE, wheelhouse=house, version=__version__)
    print(f"[pitr] built the images in {time.monotonic() - started:.0f} s")


def _wal(url: str, ca: Path) -> dict[str, Any]:
    reply = httpx.get(f"{url}/api/v1/system/health", verify=ssl.create_default_context(cafile=ca), timeout=10)
    return (reply.json().get("backup") or {}).get("wal") or {}


def _until(what: str, check: Any, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} within {seconds:.0f} s"
        time.sleep(1)


def test_compose_restore_to_a_point_in_time(engine: docker.DockerClient, tmp_path: Path) -> None:  # noqa: F811
    _images(engine, tmp_path)
    # Deep on purpose: the restore's socket once lived beside the install dir, past the 107 bytes a Unix
    # socket path may have; libpq refused every connection and the restore waited an hour for nothing.
    install_dir = tmp_path / "srv" / "plants" / "porto-north" / "factoryos-installation"
    port = _free_port()
    url, ca = f"https://127.0.0.1:{port}", install_dir / "tls" / "ca.crt"
    stack = Stack(install_dir)
    backups = install_dir / "backups"
    try:
        _run(["install", "--dir", str(install_dir), "--bind", "127.0.0.1", "--https-port", str(port), "--yes",
              "--wait-timeout", "300", "--admin-email", "owner@pitr.example", "--company", "Pitr Metal",
              "--city", "Porto"])  # fmt: skip
        # The api streams the WAL into the host's folder and takes the first base backup there.
        wal = _until("archiving with a base backup",
                     lambda: (w := _wal(url, ca)).get("state") == "streaming" and w.get("base_backups") and w, 120)
        assert wal["rpo_seconds"] == 300 and any((backups / "base").iterdir()) and any((backups / "wal").iterdir())

        _psql(stack, "CREATE TABLE pitr_probe (n int); INSERT INTO pitr_probe SELECT generate_series(1, 3)")
        time.sleep(1.5)
        noted = _psql(stack, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        time.sleep(1.5)
        _psql(stack, "INSERT INTO pitr_probe SELECT generate_series(4, 5)")
        written = dt.datetime.now(dt.UTC)
        # RPO: how long until health says the archive holds everything written.
        _until("the archive catching up", lambda: (s := _wal(url, ca).get("last_success_at"))
               and dt.datetime.fromisoformat(s) >= written, 60)  # fmt: skip
        print(f"[pitr] archive complete {(dt.datetime.now(dt.UTC) - written).total_seconds():.1f} s after the write")

        # Outside the window: refused with the window named, nothing changed.
        refused = CliRunner().invoke(_cli(), ["backup", "restore", "--to", "2020-01-01T00:00Z", "--install-dir",
                                              str(install_dir), "--yes"])  # fmt: skip
        assert refused.exit_code == 1 and "outside the recovery window" in refused.output, refused.output

        started = time.monotonic()
        output = _run(["backup", "restore", "--to", noted, "--install-dir", str(install_dir), "--yes"])
        print(f"[pitr] restore to a point in time, stack healthy again: {time.monotonic() - started:.1f} s; "
              + next(line for line in output.splitlines() if "restored from" in line))
        assert "audit chain of Pitr Metal: OK" in output, output
        assert _psql(stack, "SELECT string_agg(n::text, ',' ORDER BY n) FROM pitr_probe") == "1,2,3"
        new_volume = current_volume(install_dir)
        assert new_volume != DEFAULT_VOLUME and f"volume {new_volume}" in " ".join(output.split())
        assert engine.volumes.get(DEFAULT_VOLUME).name == DEFAULT_VOLUME  # the replaced data, kept aside
        assert [p.name for p in backups.glob("pitr-replaced-*")]
        # Archiving goes on for the restored cluster's new timeline, from a new base backup.
        _until("archiving again", lambda: (w := _wal(url, ca)).get("state") == "streaming"
               and w.get("base_backups") and w, 120)  # fmt: skip

        output = _run(["backup", "discard-replaced", "--install-dir", str(install_dir), "--yes"])
        assert DEFAULT_VOLUME not in [v.name for v in engine.volumes.list()]
        assert not list(backups.glob("pitr-replaced-*"))
        assert _psql(stack, "SELECT count(*) FROM pitr_probe") == "3"
    finally:
        # Not `uninstall`: it removes the images too, which the next run would have to build again.
        if (install_dir / "docker-compose.yml").exists():
            stack.down(volumes=True)
        for volume in engine.volumes.list(filters={"label": "com.docker.compose.volume=pgdata"}):
            volume.remove(force=True)
    assert not [v for v in engine.volumes.list() if v.name.startswith("factoryos_")]

