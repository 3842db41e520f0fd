"""How a webhook delivery is signed, and how a receiver checks it.

Every POST carries three headers:

- `webhook-id`: the event's id. Retries of one event to one endpoint carry the same id, so a
  receiver that has seen it may answer 2xx and do nothing (deliveries are at-least-once).
- `webhook-timestamp`: when this attempt was signed, in whole seconds since the Unix epoch.
  A receiver refuses one too far from its own clock (five minutes here), so a captured request
  cannot be replayed later.
- `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<raw body>`, keyed
  with the bytes the endpoint's secret encodes (the secret is `whsec_` + base64 of 32 random
  bytes). Several signatures may be listed, separated by spaces; one that matches is enough.

This is the layout of the Standard Webhooks specification, so its published verifiers work too.
The receiver must compute the HMAC over the body bytes exactly as received, before parsing JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(_key(secret), f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sign_headers(secret: str | Sequence[str], event_id: str, body: bytes, *,
                 now: float | None = None) -> dict[str, str]:
    """The three headers; with several secrets (a rotation's overlap), one signature per secret."""
    timestamp = int(now if now is not None else time.time())
    keys = [secret] if isinstance(secret, str) else list(secret)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(k, event_id, timestamp, body) for k in keys),
    }


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when one of the signatures matches and the timestamp is within `tolerance` s of `now`."""
    try:
        event_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        offered = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, event_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
