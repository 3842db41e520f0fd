"""Where an installation keeps its files under its directory (default /opt/factoryos)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer.tls import TlsPaths

DEFAULT_DIR = Path("/opt/factoryos")


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def env_file(self) -> Path:
        return self.root / ".env"

    @property
    def tls(self) -> TlsPaths:
        return TlsPaths(self.root / "tls")

    @property
    def license_dir(self) -> Path:
        return self.root / "license"

    @property
    def bundles_dir(self) -> Path:
        return self.root / "bundles"

    @property
    def backups_dir(self) -> Path:
        return self.root / "backups"

    @property
    def first_sign_in_dir(self) -> Path:
        """The api's to empty: it removes the credentials at the owner's first sign-in or after 24 h."""
        return self.root / "first-sign-in"

    @property
    def credentials_file(self) -> Path:
        return self.first_sign_in_dir / "admin-credentials.txt"

    @property
    def legacy_credentials_file(self) -> Path:
        """Where installs before the first-sign-in folder left the owner's password."""
        return self.root / "admin-credentials.txt"

    def has_owner(self, state: dict[str, Any] | None) -> bool:
        """An earlier install created the owner account (its credentials may be gone since)."""
        return bool((state or {}).get("owner_created")) or self.credentials_file.exists() \
            or self.legacy_credentials_file.exists()

    @property
    def state_file(self) -> Path:
        """Written last by a successful install: its presence means "installed"."""
        return self.root / "install.json"

    def read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return None

    def write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_name(".install.json.tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self.state_file)
