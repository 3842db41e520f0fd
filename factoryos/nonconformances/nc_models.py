"""Request and response shapes of nonconformances."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.listing import ListQuery
from factoryos.signatures.models import SignatureIn, SignatureOut

NcStatus = Literal["open", "dispositioned", "closed"]
Disposition = Literal["scrap", "rework", "use_as_is", "return_to_supplier"]
NcSource = Literal["manual", "inspection", "rejection", "machine_count"]
TEXT_MAX = 4000
MAX_QUANTITY = Decimal("99999999999")


class NcIn(BaseModel):
    """By hand: machine, quantity and description are required. From an out-of-spec inspection or a
    rejection (`source` and `source_id`): what is not sent is taken from there."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    machine_id: UUID | None = Field(None, description="Where the nonconformance was found (required by hand).")
    product_id: UUID | None = None
    order_id: UUID | None = Field(None, description="The manufacturing order, when known.")
    lot_id: UUID | None = Field(None, description="The material lot, when known.")
    quarantine_lot: bool = Field(False, description="Put the lot in quarantine (no further use) until decided.")
    quantity: Decimal | None = Field(None, gt=0, le=MAX_QUANTITY, decimal_places=3,
                                     description="How many parts (or how much); required by hand.")
    description: str | None = Field(None, min_length=1, max_length=TEXT_MAX,
                                    description="What is wrong (the defect); required by hand.")
    source: NcSource = Field("manual", description="manual, or opened from an inspection, a rejection or scrap "
                                                   "a machine counted (machine_count).")
    source_id: UUID | None = Field(None, description="The out-of-spec inspection or the rejection entry it comes "
                                                     "from (required with those sources).")
    source_at: datetime | None = Field(None, description="machine_count: an instant of the hour whose counted scrap it "
                                                         "comes from (with machine_id).")


class NcPatch(BaseModel):
    """Only the fields sent change; a closed NC is not edited."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product_id: UUID | None = None
    order_id: UUID | None = None
    lot_id: UUID | None = None
    quantity: Decimal | None = Field(None, gt=0, le=MAX_QUANTITY, decimal_places=3)
    description: str | None = Field(None, min_length=1, max_length=TEXT_MAX)
    reason: str | None = Field(None, max_length=500, description="Why (kept in the history and the audit log).")


class DispositionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    disposition: Disposition = Field(description="scrap, rework, use_as_is or return_to_supplier.")
    note: str | None = Field(None, max_length=TEXT_MAX, description="Why this decision, instructions.")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    signature: SignatureIn = Field(description="Closing the disposition is signed: password (and TOTP), meaning.")


class NcQuery(ListQuery):
    status: NcStatus | None = None
    machine_id: UUID | None = None
    product_id: UUID | None = None
    order_id: UUID | None = None
    lot_id: UUID | None = None
    disposition: Disposition | None = None


class NcSummary(BaseModel):
    id: UUID
    number: int
    code: str = Field(description="The NC's number as people say it, e.g. NC-0042.")
    status: NcStatus
    source: NcSource
    source_id: UUID | None
    source_at: datetime | None = Field(description="machine_count: the start of the hour of counted scrap.")
    machine_id: UUID
    machine_code: str | None
    product_id: UUID | None
    product_number: str | None
    order_id: UUID | None
    order_number: str | None
    lot_id: UUID | None
    quantity: Decimal
    description: str
    disposition: Disposition | None
    disposition_note: str | None
    dispositioned_by: UUID | None
    dispositioned_by_name: str | None
    dispositioned_at: datetime | None
    closed_by: UUID | None
    closed_by_name: str | None
    closed_at: datetime | None
    reported_by: UUID | None
    reported_by_name: str | None
    created_at: datetime
    updated_at: datetime


class NcEvent(BaseModel):
    kind: str = Field(description="opened, edited, dispositioned or closed.")
    from_status: NcStatus | None
    to_status: NcStatus
    details: dict[str, Any]
    actor_id: UUID | None
    actor_name: str | None
    at: datetime


class NcOut(NcSummary):
    history: list[NcEvent]
    signatures: list[SignatureOut] = Field(description="The closing signature(s), each saying whether still valid.")
    capa_ids: list[UUID] = Field(description="CAPAs this NC is part of.")


class NcPage(BaseModel):
    items: list[NcSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
