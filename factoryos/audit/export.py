"""Audit exports as CSV or JSON Lines, streamed row by row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO, Any

from sqlalchemy import RowMapping

COLUMNS = (
    "tenant_id", "seq", "ts", "actor_id", "action", "entity_type", "entity_id",
    "before", "after", "client_ip", "user_agent", "request_id", "prev_hash", "row_hash",
)


def _plain(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in COLUMNS:
        value = row[col]
        if col == "ts":
            value = value.isoformat()
        elif col in ("tenant_id", "actor_id") and value is not None:
            value = str(value)
        out[col] = value
    return out


def write(rows: Iterable[RowMapping], out: IO[str], fmt: str) -> int:
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(_plain(row), ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        plain = _plain(row)
        for col in ("before", "after"):
            plain[col] = "" if plain[col] is None else json.dumps(plain[col], ensure_ascii=False, sort_keys=True)
        writer.writerow(plain)
        count += 1
    return count
