"""Canonical serialisation and hashing of audit rows.

row_hash = SHA-256 over the canonical JSON of every recorded field, including the
previous row's hash, so changing, removing or reordering any row breaks the chain from
that row on. Values are normalised to plain JSON before they are stored, so what is read
back from PostgreSQL hashes to the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

GENESIS_HASH = "0" * 64

# Order is irrelevant (keys are sorted) but the set is part of the format: never change it.
HASHED_FIELDS = (
    "tenant_id", "seq", "ts", "actor_id", "action", "entity_type", "entity_id",
    "before", "after", "client_ip", "user_agent", "request_id", "prev_hash",
)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, UUID, Decimal)):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot record {type(value).__name__} in the audit log")


def to_json_value(value: Any) -> Any:
    """Plain JSON (dict/list/str/int/float/bool/None) of what a caller hands us."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_default))


def _ts(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def canonical(fields: dict[str, Any]) -> bytes:
    doc = {
        "tenant_id": str(fields["tenant_id"]),
        "seq": int(fields["seq"]),
        "ts": _ts(fields["ts"]),
        "actor_id": str(fields["actor_id"]) if fields.get("actor_id") else None,
        "action": fields["action"],
        "entity_type": fields["entity_type"],
        "entity_id": fields.get("entity_id"),
        "before": fields.get("before"),
        "after": fields.get("after"),
        "client_ip": fields.get("client_ip"),
        "user_agent": fields.get("user_agent"),
        "request_id": fields.get("request_id"),
        "prev_hash": fields["prev_hash"],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()
