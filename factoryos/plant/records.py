"""Typed records of the plant's rows, as repositories return them (see factoryos/db/repository.py).

Each mirrors its table column for column; tests/foundation/test_records.py holds them to it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict
from uuid import UUID


class SiteRecord(TypedDict):
    id: UUID
    tenant_id: UUID
    name: str
    code: str
    timezone: str
    address: str | None
    micro_stop_seconds: int
    setup_is_planned: bool
    no_data_policy: str
    created_at: datetime
    paper_size: str | None


class LineRecord(TypedDict):
    id: UUID
    tenant_id: UUID
    site_id: UUID
    area_id: UUID | None
    name: str
    code: str
    created_at: datetime


class MachineRecord(TypedDict):
    id: UUID
    tenant_id: UUID
    site_id: UUID
    line_id: UUID | None
    name: str
    code: str
    ideal_cycle_seconds: Decimal
    capacity_per_hour: Decimal | None
    status: str
    status_mapping: dict[str, Any]
    catalog_model_id: UUID | None
    created_at: datetime
    updated_at: datetime
