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


def _doc(fields: dict[str, Any]) -> dict[str, Any]:
    return {
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


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(_doc(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_parts(fields: dict[str, Any]) -> tuple[str, str, str]:
    """The canonical text around the two values only the chain's head gives: (head, mid, tail)
    such that ``head + prev_hash + mid + str(seq) + tail`` is `canonical` of the row (decoded),
    so the database can hash a row while it holds the head's lock."""
    doc = _doc({**fields, "seq": 0, "prev_hash": ""})
    keys = sorted(doc)
    pairs = [_ENCODER.encode(k) + ":" + _ENCODER.encode(doc[k]) for k in keys]
    i_prev, i_seq = keys.index("prev_hash"), keys.index("seq")
    if not i_prev < i_seq:  # the order of the sorted field names is part of the format
        raise AssertionError("prev_hash must sort before seq")
    head = "{" + "".join(p + "," for p in pairs[:i_prev]) + '"prev_hash":"'
    mid = '",' + "".join(p + "," for p in pairs[i_prev + 1:i_seq]) + '"seq":'
    tail = "".join("," + p for p in pairs[i_seq + 1:]) + "}"
    return head, mid, tail


def row_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()
