"""`factoryos tui` options: trust settings are checked and remembered before the screens open."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from cli import tui


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root."""

    tui.register(app)
    return app


def test_bad_fingerprint_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTORYOS_CLIENT_CONFIG", str(tmp_path / "client.json"))
    result = CliRunner().invoke(cli(), ["tui", "--server", "https://factory.lan", "--fingerprint", "12:34"])
    assert result.exit_code == 1
    assert "64 hex digits" in result.output
    assert not (tmp_path / "client.json").exists()


def test_trust_needs_a_server(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTORYOS_CLIENT_CONFIG", str(tmp_path / "client.json"))
    result = CliRunner().invoke(cli(), ["tui", "--fingerprint", "AB" * 32])
    assert result.exit_code == 1
    assert "give --server" in result.output
