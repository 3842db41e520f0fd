"""The install, bundle and license commands' user errors: one red line, exit 1, no traceback."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from cli import bundle, install, license

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    install.register(app)
    app.add_typer(bundle.app, name="bundle")
    app.add_typer(license.app, name="license")
    return app


def test_commands_on_a_host_without_installation(tmp_path: Path) -> None:
    where = tmp_path / "nothing"
    for args in (["logs"], ["uninstall", "--yes"], ["rollback", "--yes"]):  # status: exit 2, test_status.py
        result = runner.invoke(_app(), [*args, "--dir", str(where)])
        assert result.exit_code == 1, (args, result.output)
        assert "no FactoryOS installation" in result.output and "Traceback" not in result.output


def test_upgrade_needs_an_installation(tmp_path: Path) -> None:
    fake_bundle = tmp_path / "b.tar"
    fake_bundle.write_bytes(b"x")
    result = runner.invoke(_app(), ["upgrade", "--dir", str(tmp_path), "--bundle", str(fake_bundle)])
    assert result.exit_code == 1 and "run `factoryos install` first" in result.output


def test_install_with_a_foreign_bind_address(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["install", "--dir", str(tmp_path), "--bind", "192.0.2.77", "--yes"])
    assert result.exit_code == 1 and "not an address of this host" in result.output
    assert list(tmp_path.iterdir()) == []


def test_bundle_verify_reports_damage(tmp_path: Path) -> None:
    junk = tmp_path / "bundle.tar"
    junk.write_bytes(b"\0" * 10)
    result = runner.invoke(_app(), ["bundle", "verify", str(junk)])
    assert result.exit_code == 1 and "not a FactoryOS bundle" in result.output


def test_license_status_without_license(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["license", "status", "--path", str(tmp_path / "license.lic")])
    assert result.exit_code == 0 and "No license activated" in result.output and "host's id" in result.output
    bad = runner.invoke(_app(), ["license", "activate", "FOS1.nope.nope", "--path", str(tmp_path / "l.lic")])
    assert bad.exit_code == 1 and "signature does not match" in bad.output
