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


def test_a_trusted_proxy_must_be_an_ip_address():
    result = CliRunner().invoke(cli(), ["web", "--server", "https://factory.lan", "--trusted-proxy", "nginx"])
    assert result.exit_code == 1
    assert "'nginx' does not appear to be an IPv4 or IPv6 address" in result.output


def test_only_a_trusted_proxy_names_the_browser_and_only_as_an_ip_address():
    from aiohttp.test_utils import make_mocked_request

    from tui.web import WebServer

    server = WebServer("true", host="127.0.0.1", port=8090, trusted_proxies=["10.0.0.2"])

    def address(peer: str, forwarded: str) -> str | None:
        request = make_mocked_request("GET", "/ws", headers={"X-Forwarded-For": forwarded})
        request._transport_peername = (peer, 50000)  # the socket's peer, as aiohttp reads it
        return server.browser_address(request)

    assert address("10.0.0.2", "198.51.100.7") == "198.51.100.7"  # nginx names the browser
    assert address("10.0.0.2", "203.0.113.9, 198.51.100.7") == "198.51.100.7"  # the hop nginx saw, not a claim
    assert address("192.0.2.50", "198.51.100.7") == "192.0.2.50"  # anyone else names only themselves
    assert address("10.0.0.2", "198.51.100.7; rm -rf /") is None  # never text for the command line
