"""Signed licenses: issue with the tests' own key, verify offline, refuse every forgery."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from factoryos.licensing import Edition, License, LicenseError, Limits, codec, store, verify_license
from factoryos.licensing.keys import PUBLIC_KEY_ENV, load_public_key, private_pem, public_pem
from factoryos.licensing.signing import sign_license
from tests.installer.conftest import REPO_ROOT

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def _document(**changes: object) -> License:
    base = {
        "license_id": "lic-1",
        "customer": "Acme Metal",
        "edition": Edition.ADVANCED,
        "limits": Limits(machines=50, users=40, sites=2),
        "issued_at": NOW - dt.timedelta(days=1),
        "expires_at": NOW + dt.timedelta(days=364),
    }
    return License(**{**base, **changes})


def test_signed_license_verifies_offline(vendor_key: Ed25519PrivateKey) -> None:
    text = sign_license(_document(), vendor_key)
    document = verify_license(text, public_key=vendor_key.public_key(), now=NOW)
    assert document.customer == "Acme Metal" and document.edition is Edition.ADVANCED
    assert document.limits == Limits(machines=50, users=40, sites=2)
    assert document.days_left(NOW) == 364


def test_expired_license(vendor_key: Ed25519PrivateKey) -> None:
    text = sign_license(_document(expires_at=NOW - dt.timedelta(days=2)), vendor_key)
    with pytest.raises(LicenseError, match="expired on 2026-02-27") as caught:
        verify_license(text, public_key=vendor_key.public_key(), now=NOW)
    assert caught.value.code == "license_expired"
    # status still shows an expired license, it just is not accepted for activation
    assert verify_license(text, public_key=vendor_key.public_key(), now=NOW, allow_expired=True).expired(NOW)


def test_tampered_payload_is_refused(vendor_key: Ed25519PrivateKey) -> None:
    payload, signature = codec.decode(sign_license(_document(), vendor_key))
    forged = codec.encode(payload.replace(b'"machines":50', b'"machines":500'), signature)
    with pytest.raises(LicenseError) as caught:
        verify_license(forged, public_key=vendor_key.public_key(), now=NOW)
    assert caught.value.code == "license_signature_invalid"


def test_license_from_another_key_is_refused(vendor_key: Ed25519PrivateKey) -> None:
    text = sign_license(_document(), Ed25519PrivateKey.generate())
    with pytest.raises(LicenseError, match="not issued by FactoryOS"):
        verify_license(text, public_key=vendor_key.public_key(), now=NOW)


def test_host_binding(vendor_key: Ed25519PrivateKey) -> None:
    text = sign_license(_document(host_id="aaaa1111"), vendor_key)
    assert verify_license(text, public_key=vendor_key.public_key(), now=NOW, host_id="aaaa1111").host_id == "aaaa1111"
    with pytest.raises(LicenseError, match="bound to another host") as caught:
        verify_license(text, public_key=vendor_key.public_key(), now=NOW, host_id="bbbb2222")
    assert caught.value.code == "license_wrong_host"


@pytest.mark.parametrize("text", ["", "hello", "FOS1.abc", "FOS2.a.b", "FOS1.@@@.###"])
def test_malformed_keys(text: str, vendor_key: Ed25519PrivateKey) -> None:
    with pytest.raises(LicenseError) as caught:
        verify_license(text, public_key=vendor_key.public_key(), now=NOW)
    assert caught.value.code == "license_malformed"


def test_shipped_public_key_loads_and_rejects_our_test_license(vendor_key: Ed25519PrivateKey) -> None:
    shipped = load_public_key()
    with pytest.raises(LicenseError):
        verify_license(sign_license(_document(), vendor_key), public_key=shipped, now=NOW)


def test_activation_keeps_the_old_license_when_the_new_one_is_bad(
    tmp_path: Path, vendor_key: Ed25519PrivateKey
) -> None:
    path = tmp_path / "license.lic"
    good = sign_license(_document(), vendor_key)
    store.activate(good, path, public_key=vendor_key.public_key(), now=NOW)
    with pytest.raises(LicenseError):
        store.activate(good[:-6] + "AAAAAA", path, public_key=vendor_key.public_key(), now=NOW)
    active = store.load_active(path, public_key=vendor_key.public_key(), now=NOW)
    assert active is not None and active.customer == "Acme Metal"


def test_issue_script_and_cli_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Vendor script issues a host-bound license; `license activate` and `status` accept it."""
    key_file = tmp_path / "vendor.pem"
    public_file = tmp_path / "vendor.pub"
    generated = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "license_issue.py"), "--generate-key", str(key_file)],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    )  # fmt: skip
    public_file.write_text(generated.stdout)
    assert oct(key_file.stat().st_mode)[-3:] == "600"
    license_file = tmp_path / "acme.lic"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "license_issue.py"), "--key", str(key_file),
         "--customer", "Acme Metal", "--edition", "enterprise", "--machines", "120", "--host-id", "feedbeef",
         "-o", str(license_file)],
        check=True, cwd=REPO_ROOT,
    )  # fmt: skip
    from cli.license import app

    monkeypatch.setenv(PUBLIC_KEY_ENV, str(public_file))
    monkeypatch.setenv("FACTORYOS_HOST_ID", "feedbeef")
    active = tmp_path / "data" / "license.lic"
    runner = CliRunner()
    result = runner.invoke(app, ["activate", str(license_file), "--path", str(active)])
    assert result.exit_code == 0, result.output
    assert "enterprise for Acme Metal" in result.output and "120 machines" in result.output
    status = runner.invoke(app, ["status", "--path", str(active), "--json"])
    assert status.exit_code == 0 and '"customer": "Acme Metal"' in status.output and '"days_left": 36' in status.output
    # Pasting the key itself works as well as the file.
    key_text = license_file.read_text().splitlines()[-1]
    assert runner.invoke(app, ["activate", key_text, "--path", str(active)]).exit_code == 0

    monkeypatch.setenv("FACTORYOS_HOST_ID", "0ther0ne")
    refused = runner.invoke(app, ["activate", str(license_file), "--path", str(tmp_path / "other.lic")])
    assert refused.exit_code == 1 and "bound to another host" in refused.output
    assert not (tmp_path / "other.lic").exists()


def test_key_helpers_round_trip() -> None:
    key = Ed25519PrivateKey.generate()
    assert load_public_key(public_pem(key)).public_bytes_raw() == key.public_key().public_bytes_raw()
    assert b"PRIVATE KEY" in private_pem(key)
    with pytest.raises(LicenseError, match="not a PEM public key"):
        load_public_key(b"junk")


def test_edition_and_limit_gating() -> None:
    from factoryos.licensing.gating import UNLICENSED_LIMITS, require_edition, require_room

    advanced = _document()
    require_edition(advanced, Edition.CORE, "OEE dashboard")
    require_edition(advanced, Edition.ADVANCED, "Excel export")
    with pytest.raises(LicenseError, match="needs the Enterprise edition; .* licensed for Advanced") as caught:
        require_edition(advanced, Edition.ENTERPRISE, "Multi-site roll-ups")
    assert caught.value.code == "license_edition"
    with pytest.raises(LicenseError, match="needs the Advanced edition"):
        require_edition(None, Edition.ADVANCED, "Excel export")

    # Modules: the evaluation includes them all; a license below their edition refuses them.
    from factoryos.licensing.gating import require_module

    require_module(None, Edition.ADVANCED, "Quality")
    require_module(advanced, Edition.ADVANCED, "Quality")
    with pytest.raises(LicenseError, match="Quality needs the Advanced edition; .* licensed for Core") as caught:
        require_module(_document(edition=Edition.CORE), Edition.ADVANCED, "Quality")
    assert caught.value.code == "license_feature" and caught.value.extra["edition_needed"] == "advanced"

    require_room(advanced, "machines", current=49)
    with pytest.raises(LicenseError, match="the license allows 50 machines; 50 exist already") as caught:
        require_room(advanced, "machines", current=50)
    assert caught.value.code == "license_limit" and caught.value.extra["allowed"] == 50
    with pytest.raises(LicenseError, match=f"evaluation .* allows {UNLICENSED_LIMITS.sites} sites"):
        require_room(None, "sites", current=UNLICENSED_LIMITS.sites)
