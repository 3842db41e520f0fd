"""`factoryos license activate` on the host of a Compose install writes the store the api
mounts (<dir>/license), says so, and never the CLI user's own data folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from cli import license
from factoryos.licensing import Edition, License, Limits
from factoryos.licensing.keys import PUBLIC_KEY_ENV, public_pem
from factoryos.licensing.signing import sign_license
from installer.layout import Layout

runner = CliRunner()


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vendor_key: Ed25519PrivateKey) -> str:
    pem = tmp_path / "vendor-public.pem"
    pem.write_bytes(public_pem(vendor_key))
    monkeypatch.setenv(PUBLIC_KEY_ENV, str(pem))
    monkeypatch.delenv("FACTORYOS_LICENSE_FILE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home-data"))
    now = dt.datetime.now(dt.UTC)
    document = License(license_id="lic-7", customer="Acme Metal", edition=Edition.ADVANCED,
                       limits=Limits(machines=30, users=20, sites=1), issued_at=now - dt.timedelta(days=1),
                       expires_at=now + dt.timedelta(days=365))  # fmt: skip
    return sign_license(document, vendor_key)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(license.app, name="license")
    return app


def test_activation_on_the_host_goes_to_the_installations_store(tmp_path: Path, key: str) -> None:
    layout = Layout(tmp_path / "opt")
    layout.root.mkdir()
    layout.write_state({"version": "0.1.0", "url": "https://127.0.0.1:1"})
    result = runner.invoke(_app(), ["license", "activate", key, "--dir", str(layout.root), "--no-restart"])
    assert result.exit_code == 0, result.output
    stored = layout.license_dir / "license.lic"
    assert stored.read_text().endswith(key + "\n")
    assert "license store of the FactoryOS installation" in result.output and str(stored) in result.output
    assert "In force when the api next starts" in result.output
    assert not (tmp_path / "home-data").exists()  # the bug: ~/.local/share/factoryos/license.lic
    shown = runner.invoke(_app(), ["license", "status", "--dir", str(layout.root)])
    assert shown.exit_code == 0 and "Acme Metal" in shown.output and "valid" in shown.output


def test_without_an_installation_the_local_store_is_used(tmp_path: Path, key: str) -> None:
    result = runner.invoke(_app(), ["license", "activate", key, "--dir", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home-data" / "factoryos" / "license.lic").is_file()
