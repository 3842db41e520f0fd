"""Request and response shapes of CAPAs (corrective and preventive actions)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from factoryos.listing import ListQuery
from factoryos.signatures.models import SignatureIn, SignatureOut

CapaStatus = Literal["open", "closed"]
Step = Literal["containment", "root_cause", "actions", "effectiveness"]
STEPS: tuple[str, ...] = ("containment", "root_cause", "actions", "effectiveness")
ActionKind = Literal["corrective", "preventive"]
TEXT_MAX = 4000
WHY_MAX = 500


def _whys(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [w.strip() for w in value]


class CapaIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    problem: str = Field(min_length=1, max_length=TEXT_MAX, description="What happened, how often, how bad.")
    nonconformance_ids: list[UUID] = Field(min_length=1, max_length=100, description="The NCs it answers.")
    owner_id: UUID | None = Field(None, description="Who drives it (a member); default: you.")
    containment: str | None = Field(None, max_length=TEXT_MAX, description="What was done at once to contain it.")


class CapaPatch(BaseModel):
    """Only the fields sent change. A change to an approved step's content voids its approval."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(None, min_length=1, max_length=200)
    problem: str | None = Field(None, min_length=1, max_length=TEXT_MAX)
    containment: str | None = Field(None, max_length=TEXT_MAX)
    whys: list[str] | None = Field(None, max_length=5, description="5-Why: each answer asks the next why.")
    root_cause: str | None = Field(None, max_length=TEXT_MAX)
    effectiveness_check: str | None = Field(None, max_length=TEXT_MAX,
                                            description="How effectiveness is checked, and what was found.")
    effective: bool | None = Field(None, description="Whether the actions proved effective.")
    owner_id: UUID | None = None
    reason: str | None = Field(None, max_length=500)

    @field_validator("whys")
    @classmethod
    def _check_whys(cls, value: list[str] | None) -> list[str] | None:
        value = _whys(value)
        for answer in value or []:
            if len(answer) > WHY_MAX:
                raise ValueError(f"each why is at most {WHY_MAX} characters")
        return value


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ActionKind = "corrective"
    description: str = Field(min_length=1, max_length=TEXT_MAX)
    owner_id: UUID = Field(description="Who does it (a member).")
    due_date: date


class ActionDoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(None, max_length=TEXT_MAX, description="What was done.")


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    step: Step = Field(description="containment, root_cause, actions or effectiveness (which closes the CAPA).")
    signature: SignatureIn


class CapaQuery(ListQuery):
    status: CapaStatus | None = None
    owner_id: UUID | None = None
    nonconformance_id: UUID | None = None


class ActionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str = Field("me", max_length=40, description="`me`, or a member's user id.")
    overdue: bool = Field(False, description="Only actions not done whose due date has passed.")
    open: bool = Field(True, description="Only actions not done yet.")
    limit: int = Field(100, ge=1, le=500)


class ActionOut(BaseModel):
    id: UUID
    capa_id: UUID
    capa_code: str
    capa_title: str
    kind: ActionKind
    description: str
    owner_id: UUID
    owner_name: str | None
    due_date: date
    overdue: bool = Field(description="Not done and its due date has passed.")
    done_at: datetime | None
    done_by: UUID | None
    done_note: str | None


class StepOut(BaseModel):
    step: Step
    ready: bool = Field(description="Its content is filled in (and the steps before are approved).")
    approved: bool = Field(description="A valid approval signature covers its content as it is now.")
    signatures: list[SignatureOut]


class CapaSummary(BaseModel):
    id: UUID
    number: int
    code: str = Field(description="e.g. CAPA-0007")
    title: str
    status: CapaStatus
    owner_id: UUID | None
    owner_name: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class CapaOut(CapaSummary):
    problem: str
    containment: str | None
    whys: list[str]
    root_cause: str | None
    effectiveness_check: str | None
    effective: bool | None
    nonconformance_ids: list[UUID]
    nonconformance_codes: list[str]
    actions: list[ActionOut]
    steps: list[StepOut]


class CapaPage(BaseModel):
    items: list[CapaSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
