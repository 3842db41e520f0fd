"""`factoryos web` options: refused with one clear line before anything is served."""

from __future__ import annotations

import shlex

import typer
from typer.testing import CliRunner

from cli import web


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root."""

    web.register(app)
    return app


def test_certificate_needs_its_key(tmp_path):
    cert = tmp_path / "web.crt"
    cert.write_text("not used")
    result = CliRunner().invoke(cli(), ["web", "--server", "https://factory.lan", "--tls-cert", str(cert)])
    assert result.exit_code == 1
    assert "--tls-key" in result.output


def test_bad_fingerprint_is_one_clear_error():
    result = CliRunner().invoke(cli(), ["web", "--server", "https://factory.lan", "--fingerprint", "12:34"])
    assert result.exit_code == 1
    assert "64 hex digits" in result.output


def test_unreadable_certificate_is_refused(tmp_path):
    cert, key = tmp_path / "web.crt", tmp_path / "web.key"
    cert.write_text("not a certificate")
    key.write_text("not a key")
    result = CliRunner().invoke(cli(), ["web", "--server", "https://factory.lan", "--tls-cert", str(cert),
                                        "--tls-key", str(key)])
    assert result.exit_code == 1
    assert "cannot use the TLS certificate" in result.output


def test_session_command_quotes_what_it_passes():
    from tui.web import session_command

    command = session_command("https://factory.lan", fingerprint="AB:CD", high_contrast=True)
    assert command.endswith("-m tui.web_session https://factory.lan --fingerprint AB:CD --high-contrast")
    hostile = "https://x'; rm -rf /"
    assert shlex.split(session_command(hostile))[-1] == hostile  # one argument, never shell code
