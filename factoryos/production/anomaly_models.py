"""Request and response shapes of counter anomalies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

AnomalyStatus = Literal["pending", "accepted", "discarded"]
Signal = Literal["good", "reject"]


class AnomalyOut(BaseModel):
    id: UUID
    machine_id: UUID
    signal: Signal = Field(description="The counter that jumped: good or reject parts.")
    previous_raw: int | None = Field(description="The counter's value before the jump; null if none was known.")
    raw: int = Field(description="The value read.")
    previous_at: datetime | None = Field(description="When `previous_raw` was read.")
    detected_at: datetime
    delta: int = Field(description="Parts the counter claims were made.")
    allowed: int | None = Field(description="The most the machine could have made in the time (the bound broken).")
    status: AnomalyStatus = Field(description="pending until a supervisor accepts (stored as production) or "
                                              "discards it.")
    decided_by: UUID | None
    decided_at: datetime | None
    created_at: datetime


class AnomalyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AnomalyStatus | None = Field(None, description="Only anomalies in this state.")
    limit: int = Field(50, ge=1, le=500, description="Page size.")
    cursor: str | None = Field(None, max_length=300, description="`next_cursor` of the previous page.")
