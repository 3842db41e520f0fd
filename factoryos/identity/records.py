"""Typed records of identity rows that cross module boundaries (see factoryos/db/repository.py).

Each mirrors its table column for column; tests/foundation/test_records.py holds them to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict
from uuid import UUID


class MemberRecord(TypedDict):
    """A membership: one account's role and single grants/denials in one company."""

    id: UUID
    tenant_id: UUID
    user_id: UUID
    role: str
    granted: list[str]
    denied: list[str]
    site_ids: list[UUID] | None  # None: every site (0021)
    machine_ids: list[UUID] | None  # None: every machine of those sites (0025)
    invited_by: UUID | None
    joined_at: datetime
    created_at: datetime
    updated_at: datetime
