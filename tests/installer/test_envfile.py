"""The .env: secrets generated once, reused on re-runs, never readable by others."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from installer import envfile


def test_created_with_mode_0600_and_all_secrets(tmp_path: Path) -> None:
    path = tmp_path / "install" / ".env"
    env = envfile.ensure_env(path, {"FACTORYOS_BIND_IP": "10.0.0.5"})
    assert env.created and sorted(env.generated) == sorted(envfile.SECRET_NAMES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = envfile.read_env(path)
    assert stored["FACTORYOS_BIND_IP"] == "10.0.0.5"
    secrets = [stored[name] for name in envfile.SECRET_NAMES]
    assert len(set(secrets)) == len(secrets) and all(len(s) >= 40 for s in secrets)


def test_rerun_keeps_secrets_and_updates_only_given_settings(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    first = envfile.ensure_env(path, {"FACTORYOS_BIND_IP": "10.0.0.5", "FACTORYOS_HTTPS_PORT": "443"})
    path.chmod(0o644)  # someone loosened it: a re-run tightens it again
    second = envfile.ensure_env(path, {"FACTORYOS_BIND_IP": "", "FACTORYOS_HTTPS_PORT": "8443"})
    assert not second.created and second.generated == []
    stored = envfile.read_env(path)
    for name in envfile.SECRET_NAMES:
        assert stored[name] == first.values[name]
    assert stored["FACTORYOS_BIND_IP"] == "10.0.0.5" and stored["FACTORYOS_HTTPS_PORT"] == "8443"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_lost_secret_is_regenerated_alone(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    first = envfile.ensure_env(path, {})
    text = path.read_text().replace(f"FACTORYOS_SECRET_KEY='{first.values['FACTORYOS_SECRET_KEY']}'\n", "")
    path.write_text(text)
    again = envfile.ensure_env(path, {})
    assert again.generated == ["FACTORYOS_SECRET_KEY"]
    assert again.values["FACTORYOS_APP_DB_PASSWORD"] == first.values["FACTORYOS_APP_DB_PASSWORD"]


def test_secrets_cannot_be_passed_in(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="generated"):
        envfile.ensure_env(tmp_path / ".env", {"FACTORYOS_SECRET_KEY": "chosen"})
    assert not (tmp_path / ".env").exists()
