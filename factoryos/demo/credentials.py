"""Demo logins: generated once per data dir, kept in a 0600 file, reused on every run."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from factoryos.demo.dataset import PEOPLE


@dataclass(frozen=True)
class DemoLogin:
    key: str
    email: str
    password: str
    role: str
    display_name: str


def load_or_create(path: Path) -> dict[str, DemoLogin]:
    if path.exists():
        return {k: DemoLogin(**v) for k, v in json.loads(path.read_text()).items()}
    logins = {
        p.key: DemoLogin(p.key, f"{p.key}@demo.factoryos.example", secrets.token_urlsafe(12), p.role, p.display_name)
        for p in PEOPLE
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({k: asdict(v) for k, v in logins.items()}, fh, indent=2)
    return logins
