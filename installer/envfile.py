"""The installation's `.env`: generated secrets, created once and reused on every re-run.

Compose reads it for variable interpolation; it is written atomically with mode 0600 so
a secret is never readable by other users, not even for an instant.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

# Only URL-safe characters: the passwords end up inside database URLs.
SECRET_NAMES = (
    "FACTORYOS_SECRET_KEY",
    "FACTORYOS_PG_SUPERUSER_PASSWORD",
    "FACTORYOS_OWNER_DB_PASSWORD",
    "FACTORYOS_APP_DB_PASSWORD",
)
_SECRET_BYTES = 32
# Not secret, kept so that a re-run renders the same fixed network (nginx's trusted address).
FRONTEND_SUBNET = "FACTORYOS_FRONTEND_SUBNET"
# The version the configuration was written for: a re-run without a bundle starts it again.
VERSION = "FACTORYOS_VERSION"
# A host folder on other storage (an NFS/SMB mount) that receives a copy of every backup; "" ⇒ none.
BACKUP_COPY_TO = "FACTORYOS_BACKUP_COPY_TO"


@dataclass(frozen=True)
class EnvFile:
    path: Path
    values: dict[str, str]
    created: bool
    generated: list[str] = field(default_factory=list)


def read_env(path: Path) -> dict[str, str]:
    return {key: value or "" for key, value in dotenv_values(path).items()}


def ensure_env(path: Path, settings: Mapping[str, str]) -> EnvFile:
    """Keep existing secrets, generate missing ones, and apply `settings` (non-secret).

    A setting passed as "" keeps the stored value, so re-runs without options change nothing.
    """
    created = not path.exists()
    values = {} if created else read_env(path)
    generated = [name for name in SECRET_NAMES if not values.get(name)]
    for name in generated:
        values[name] = secrets.token_urlsafe(_SECRET_BYTES)
    for key, value in settings.items():
        if key in SECRET_NAMES:
            raise ValueError(f"{key} is generated, never passed in")
        if value != "":
            values[key] = value
    _write(path, values)
    return EnvFile(path=path, values=values, created=created, generated=generated)


def set_values(path: Path, settings: Mapping[str, str]) -> None:
    """Set non-secret settings, "" included (ensure_env keeps the stored value for "")."""
    values = read_env(path)
    for key, value in settings.items():
        if key in SECRET_NAMES:
            raise ValueError(f"{key} is generated, never passed in")
        values[key] = value
    _write(path, values)


def adopt_secrets(path: Path, values: Mapping[str, str]) -> None:
    """A warm standby takes its primary's secrets (the same database, roles and keys) before ensure_env
    would generate its own."""
    current = read_env(path) if path.exists() else {}
    _write(path, current | {name: values[name] for name in SECRET_NAMES})


def _write(path: Path, values: Mapping[str, str]) -> None:
    for key, value in values.items():
        if "\n" in value or "'" in value:
            raise ValueError(f"{key}: value may not contain newlines or single quotes")
    lines = ["# FactoryOS installation settings. Secrets below are generated once: keep this file private.\n"]
    lines += [f"{key}='{value}'\n" for key, value in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".env-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
