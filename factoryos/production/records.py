"""Typed records of production rows that cross module boundaries (see factoryos/db/repository.py).

Each mirrors its table column for column; tests/foundation/test_records.py holds them to it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NotRequired, TypedDict
from uuid import UUID


class ShiftInstanceRecord(TypedDict):
    """One dated occurrence of a shift pattern at a site (starts/ends in UTC, breaks as stored
    pairs of ISO instants). Stored, or computed from its pattern and not stored yet: then `id`
    is None and the stored-only columns are absent."""

    id: UUID | None
    pattern_id: UUID
    site_id: UUID
    name: str
    local_date: date
    starts_at: datetime
    ends_at: datetime
    breaks: list[Any]
    tenant_id: NotRequired[UUID]
    created_at: NotRequired[datetime]
