"""Request and response shapes of production plans and production entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from factoryos.plant.listing import ListQuery
from factoryos.production.loss_models import ShiftRef

Ref = Annotated[str, Field(min_length=1, max_length=120)]


class PlanIn(ShiftRef):
    machine_id: UUID
    target_quantity: int = Field(ge=0, le=100_000_000)
    job_ref: Ref | None = None
    product_ref: Ref | None = None
    material_id: UUID | None = Field(None, description="A material from the global catalog.")
    operator_ids: list[UUID] = Field(default_factory=list, max_length=50,
                                     description="Operators of the machine's site assigned to the job.")


class PlanPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_quantity: int | None = Field(None, ge=0, le=100_000_000)
    job_ref: Ref | None = None
    product_ref: Ref | None = None
    material_id: UUID | None = None
    operator_ids: list[UUID] | None = Field(None, max_length=50)


class PlanOut(BaseModel):
    id: UUID
    machine_id: UUID
    shift_instance_id: UUID
    target_quantity: int
    job_ref: str | None
    product_ref: str | None
    material_id: UUID | None
    operator_ids: list[UUID]
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class PlanQuery(ListQuery):
    machine_id: UUID | None = None
    shift_instance_id: UUID | None = None
    site_id: UUID | None = None


class EntryIn(ShiftRef):
    machine_id: UUID
    good_quantity: int = Field(ge=0, description="Good parts made in the period.")
    rework_quantity: int = Field(0, ge=0, description="How many of the good parts needed rework first.")
    started_at: AwareDatetime | None = Field(
        None, description="Defaults to the end of this machine's previous entry in the shift, or the shift start.")
    ended_at: AwareDatetime | None = Field(None, description="Defaults to now, or the shift end for a past shift.")
    operator_id: UUID | None = Field(None, description="Defaults to you; must be an operator of the site.")
    job_ref: Ref | None = None
    note: str | None = Field(None, max_length=2000)
    operation_id: UUID | None = Field(
        None, description="The order operation the parts were made for; defaults to the one running on the machine "
                          "at started_at.")


class EntryOut(BaseModel):
    id: UUID
    machine_id: UUID
    shift_instance_id: UUID
    operator_id: UUID
    good_quantity: int
    rework_quantity: int
    started_at: datetime
    ended_at: datetime
    job_ref: str | None
    note: str | None
    created_by: UUID | None
    created_at: datetime
    operation_id: UUID | None = None


class EntryQuery(ListQuery):
    machine_id: UUID | None = None
    shift_instance_id: UUID | None = None
    operator_id: UUID | None = None
