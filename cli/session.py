"""The CLI's signed-in session: tokens kept between commands in the user's config directory.

The terminal profile (`factoryos.client.profile`) deliberately holds no tokens because
shop-floor terminals are shared; `factoryos login` is a personal command, so it keeps the
session in a separate file only its owner can read (0600), next to that profile. Refresh
tokens rotate on use: every command saves the newest pair back.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import BaseModel, ValidationError

from factoryos.client import FactoryClient, SessionEnded, default_config_path, load_profile
from factoryos.private_files import write_private

SESSION_FILE = "cli-session.json"


class StoredSession(BaseModel):
    server: str
    email: str
    company: str | None = None
    access_token: str
    refresh_token: str | None
    access_expires_at: float  # Unix time


class NotSignedIn(Exception):
    """No usable stored session: the user must run `factoryos login`."""


def session_path() -> Path:
    return default_config_path().with_name(SESSION_FILE)


def load_session(path: Path | None = None) -> StoredSession | None:
    try:
        return StoredSession.model_validate_json((path or session_path()).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, ValidationError):
        return None


def save_session(session: StoredSession, path: Path | None = None) -> None:
    """Write with mode 0600 from the start (never briefly readable by others), then swap in."""
    path = path or session_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps(session.model_dump(mode="json")))


def clear_session(path: Path | None = None) -> None:
    (path or session_path()).unlink(missing_ok=True)


def remember_tokens(client: FactoryClient, session: StoredSession) -> StoredSession:
    """The session with the client's current (possibly rotated) tokens."""
    tokens = client.t.tokens
    if tokens is None:
        return session
    expires = time.time() + (tokens.expires_at - time.monotonic())
    return session.model_copy(update={"access_token": tokens.access, "refresh_token": tokens.refresh,
                                      "access_expires_at": expires})


@asynccontextmanager
async def signed_in_client(timeout: float = 600.0) -> AsyncIterator[tuple[FactoryClient, StoredSession]]:
    """A client on the stored session; rotated tokens are saved, an ended session is forgotten."""
    session = load_session()
    if session is None:
        raise NotSignedIn("not signed in: run `factoryos login --server URL` first")
    trust = load_profile(default_config_path()).trust_for(session.server)
    client = FactoryClient(session.server, trust=trust, timeout=timeout)
    client.t.set_tokens(session.access_token, session.refresh_token,
                        max(0, int(session.access_expires_at - time.time())))
    try:
        yield client, session
    except SessionEnded:
        clear_session()
        raise
    finally:
        if client.t.tokens is not None:
            save_session(remember_tokens(client, session))
        await client.aclose()
