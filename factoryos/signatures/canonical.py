"""The canonical JSON text of a record's content, and its SHA-256: what a signature signs.

The same content always gives the same text, whatever the dict order, the time zone a
timestamp was read in, or the trailing zeros of a decimal: keys sorted, no spaces, UTF-8,
UUIDs and decimals as strings, instants as UTC ISO 8601.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel


def to_canonical(value: Any) -> Any:
    """`value` as plain JSON values (dicts, lists, str, int, float, bool, None)."""
    if isinstance(value, BaseModel):
        return to_canonical(value.model_dump(mode="python"))
    if isinstance(value, Mapping):
        return {str(k): to_canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, Enum):
        return to_canonical(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a signed timestamp must carry its zone")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot sign a value of type {type(value).__name__}")


def canonical_json(content: Mapping[str, Any]) -> str:
    return json.dumps(to_canonical(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
