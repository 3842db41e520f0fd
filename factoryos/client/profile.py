"""What a terminal remembers between runs: the server address, the last email, and how
to trust each server's certificate. A small JSON file in the user's config directory.

Never tokens or passwords: a terminal on the shop floor is shared.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field, ValidationError

from factoryos.client.trust import Trust

log = logging.getLogger(__name__)

APP_NAME = "factoryos"
# Read from the environment, not `factoryos.config.Settings`: these configure a terminal or
# remote CLI on the user's machine, which has no server settings (or data dir) at all.
CONFIG_ENV = "FACTORYOS_CLIENT_CONFIG"
OUTBOX_ENV = "FACTORYOS_CLIENT_OUTBOX"


class ServerTrust(BaseModel):
    ca_file: str | None = None
    pinned_sha256: str | None = None


class ClientProfile(BaseModel):
    server: str | None = None
    email: str | None = None
    theme: str | None = None
    trust: dict[str, ServerTrust] = Field(default_factory=dict, description="Per server URL.")

    def trust_for(self, server: str) -> Trust:
        t = self.trust.get(server)
        if t is None:
            return Trust()
        return Trust(ca_file=Path(t.ca_file) if t.ca_file else None, pinned_sha256=t.pinned_sha256)

    def pin(self, server: str, fingerprint: str) -> None:
        entry = self.trust.setdefault(server, ServerTrust())
        entry.pinned_sha256 = fingerprint


def default_config_path() -> Path:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    return platformdirs.user_config_path(APP_NAME) / "client.json"


def default_outbox_dir() -> Path:
    explicit = os.environ.get(OUTBOX_ENV)
    if explicit:
        return Path(explicit)
    return platformdirs.user_data_path(APP_NAME) / "terminal-outbox"


def load_profile(path: Path) -> ClientProfile:
    """The saved profile; an empty one when missing or unreadable (logged, not fatal)."""
    try:
        return ClientProfile.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ClientProfile()
    except (OSError, ValueError, ValidationError) as exc:
        log.warning("ignoring unreadable client profile %s: %s", path, exc)
        return ClientProfile()


def save_profile(path: Path, profile: ClientProfile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(profile.model_dump(mode="json", exclude_none=True), indent=2), encoding="utf-8")
    os.replace(tmp, path)
