"""`factoryos status`: the health report and its exit code (0 healthy, 1 degraded, 2 down),
against the real app over HTTP and the loopback Engine API speaker; also with no engine."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import install
from installer.layout import Layout

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    install.register(app)
    return app


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _installed(tmp_path: Path, url: str) -> Path:
    layout = Layout(tmp_path / "factoryos")
    layout.root.mkdir()
    layout.license_dir.mkdir()
    layout.write_state({"version": "1.2.3", "url": url, "installed_at": "2026-01-05T08:00:00+00:00",
                        "bind_ip": "127.0.0.1", "https_port": 443})  # fmt: skip
    return layout.root


def _container(service: str, state: str = "running", status: str = "Up 3 hours (healthy)") -> dict[str, object]:
    return {"Labels": {"com.docker.compose.project": "factoryos", "com.docker.compose.service": service},
            "State": state, "Status": status, "Image": f"factoryos/{service}:1.2.3"}  # fmt: skip


def _status(directory: Path, *extra: str):
    return runner.invoke(_app(), ["status", "--dir", str(directory), *extra])


def test_engine_stopped_is_down_with_the_hosts_own_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{_closed_port()}")
    directory = _installed(tmp_path, f"https://127.0.0.1:{_closed_port()}")
    text = _status(directory)
    assert text.exit_code == 2, text.output
    assert "Docker engine does not answer" in text.output and "down (exit code 2)" in text.output
    assert "License" in text.output and "none activated" in text.output and "Last backup" in text.output
    result = _status(directory, "--json")
    assert result.exit_code == 2
    body = json.loads(result.output)
    assert body["status"] == "down" and body["exit_code"] == 2 and body["engine"] == "unreachable"
    assert [s["service"] for s in body["services"]] == ["postgres", "api", "web", "nginx"]  # never an empty list
    assert {p["key"] for p in body["parts"]} >= {"server", "license", "backup", "host_disk"}
    assert body["backups_dir"] == str(directory / "backups")


def test_running_stack_is_healthy(tmp_path: Path, docker_api, live_server, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", docker_api.url)
    docker_api.containers = [_container(s) for s in ("postgres", "api", "web", "nginx")]
    directory = _installed(tmp_path, live_server.url)
    result = _status(directory, "--json")
    body = json.loads(result.output)
    assert result.exit_code == 0, body["problems"]
    assert body["status"] == "healthy" and body["problems"] == []
    assert body["health"]["database"]["ok"] is True
    parts = {p["key"]: p["state"] for p in body["parts"]}
    assert parts["database"] == parts["migrations"] == parts["host_disk"] == "OK"
    text = _status(directory)
    assert text.exit_code == 0 and "healthy (exit code 0)" in text.output


def test_a_stopped_service_is_degraded(tmp_path: Path, docker_api, live_server, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", docker_api.url)
    docker_api.containers = [_container("postgres"), _container("web"), _container("api", status="Up 1 minute (unhealthy)"),
                             _container("nginx", state="exited", status="Exited (1) 2 minutes ago")]  # fmt: skip
    result = _status(_installed(tmp_path, live_server.url), "--json")
    body = json.loads(result.output)
    assert result.exit_code == 1 and body["status"] == "degraded"
    assert body["problems"] == ["service api is unhealthy: factoryos logs api",
                                "service nginx is exited: factoryos logs nginx"]  # fmt: skip


def test_no_installation_is_down(tmp_path: Path) -> None:
    result = _status(tmp_path / "nothing")
    assert result.exit_code == 2 and "no FactoryOS installation" in result.output
    assert "Traceback" not in result.output
