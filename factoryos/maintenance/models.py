"""Request and response shapes of the maintenance API (the server and the typed client read them)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from factoryos.listing import ListQuery
from factoryos.signatures.models import SignatureIn, SignatureOut

AssetKind = Literal["machine", "spindle", "mould", "tool", "robot", "other"]
AssetStatus = Literal["active", "retired"]
WorkOrderKind = Literal["preventive", "corrective", "request"]
WorkOrderStatus = Literal["requested", "approved", "scheduled", "in_progress", "done", "cancelled"]
Trigger = Literal["calendar", "run_hours", "cycles"]
DueState = Literal["ok", "soon", "due"]

Name = Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=200)]
Short = Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=120)]
Text = Annotated[str, Field(max_length=4000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Document(_In):
    name: Name
    link: Annotated[str, Field(min_length=1, max_length=500, description="A file name or URL.")]


# -- assets -----------------------------------------------------------------------------


class AssetIn(_In):
    """A sub-asset: fixed under a machine's asset (`parent_id`), or movable between machines."""

    kind: Literal["spindle", "mould", "tool", "robot", "other"]
    name: Name
    code: Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=40)] | None = None
    parent_id: UUID | None = Field(None, description="The asset it is part of (e.g. the machine's asset).")
    movable: bool = Field(False, description="Moulds and tools that move between machines: they count "
                                             "their usage only while mounted.")
    manufacturer: Short | None = None
    model: Short | None = None
    serial: Short | None = None
    installed_on: date | None = None
    documents: list[Document] = Field(default_factory=list, max_length=50)
    run_hours_offset: Decimal = Field(Decimal(0), ge=0, le=10_000_000, description="Run hours before recording.")
    cycles_offset: int = Field(0, ge=0, le=10**15, description="Cycles before recording.")


class AssetPatch(_In):
    name: Name | None = None
    manufacturer: Short | None = None
    model: Short | None = None
    serial: Short | None = None
    installed_on: date | None = None
    documents: list[Document] | None = Field(None, max_length=50)
    status: AssetStatus | None = None


class MountIn(_In):
    machine_id: UUID | None = Field(description="Mount on this machine; null: take it off.")
    at: AwareDatetime | None = Field(None, description="When the change was made (default: now; not in the "
                                                      "future, nor before the asset's last change).")


class Usage(BaseModel):
    run_hours: float = Field(description="Run hours counted so far (offset included).")
    cycles: int = Field(description="Parts counted by the machine's counters while it was there (offset included).")


class AssetOut(BaseModel):
    id: UUID
    kind: AssetKind
    name: str
    code: str | None
    machine_id: UUID | None
    parent_id: UUID | None
    movable: bool
    mounted_on: UUID | None = Field(description="The machine it counts on now (a machine: itself).")
    manufacturer: str | None
    model: str | None
    serial: str | None
    installed_on: date | None
    documents: list[Document]
    status: AssetStatus
    usage: Usage
    created_at: datetime


class AssetQuery(ListQuery):
    machine_id: UUID | None = None
    kind: AssetKind | None = None


# -- plans ------------------------------------------------------------------------------


class ChecklistItem(_In):
    task: Name


class PlanIn(_In):
    asset_id: UUID
    name: Name
    every_days: int | None = Field(None, description="Calendar: every N days.")
    every_weeks: int | None = Field(None, description="Calendar: every N weeks (on `weekday`, if given).")
    weekday: int | None = Field(None, description="ISO weekday 1 (Monday) … 7 (Sunday), with `every_weeks`.")
    every_run_hours: Decimal | None = Field(None, description="Every N hours the machine ran.")
    every_cycles: int | None = Field(None, description="Every N counted cycles.")
    next_due_run_hours: Decimal | None = Field(None, description="First due at this reading of the asset's hours.")
    next_due_cycles: int | None = Field(None, description="First due at this reading of the asset's cycle count.")
    lead_days: int = Field(0, ge=0, le=365, description="Warn this many days before a calendar due date.")
    lead_run_hours: Decimal = Field(Decimal(0), ge=0, le=100_000)
    lead_cycles: int = Field(0, ge=0, le=10**12)
    checklist: list[ChecklistItem] = Field(default_factory=list, max_length=100)
    estimated_minutes: int = Field(60, description="Estimated duration of the work.")
    needs_stop: bool = Field(True, description="The work needs the machine stopped: its time is a planned stop.")
    requires_signature: bool = Field(False, description="Closing its work orders needs an electronic signature.")
    last_done_at: AwareDatetime | None = Field(None, description="When this work was last done: usage and the "
                                                                 "calendar count from then (default: now).")


class PlanPatch(_In):
    name: Name | None = None
    every_days: int | None = None
    every_weeks: int | None = None
    weekday: int | None = None
    every_run_hours: Decimal | None = None
    every_cycles: int | None = None
    lead_days: int | None = Field(None, ge=0, le=365)
    lead_run_hours: Decimal | None = Field(None, ge=0, le=100_000)
    lead_cycles: int | None = Field(None, ge=0, le=10**12)
    checklist: list[ChecklistItem] | None = Field(None, max_length=100)
    estimated_minutes: int | None = None
    needs_stop: bool | None = None
    requires_signature: bool | None = None
    active: bool | None = None


class TriggerState(BaseModel):
    trigger: Trigger
    state: DueState
    used: float = Field(description="Since the last completion: days, run hours or cycles.")
    interval: float = Field(description="The plan's interval in the same unit.")
    remaining: float = Field(description="Until due (negative: past due).")
    due_at: datetime | None = Field(description="Calendar: the due moment; usage: when it was reached, else null.")


class PlanOut(BaseModel):
    id: UUID
    asset_id: UUID
    asset_name: str
    machine_id: UUID | None
    name: str
    every_days: int | None
    every_weeks: int | None
    weekday: int | None
    every_run_hours: float | None
    every_cycles: int | None
    next_due_run_hours: float | None
    next_due_cycles: int | None
    lead_days: int
    lead_run_hours: float
    lead_cycles: int
    checklist: list[ChecklistItem]
    estimated_minutes: int
    needs_stop: bool
    requires_signature: bool
    active: bool
    anchor_at: datetime = Field(description="Usage is counted from here: creation, or the last completion.")
    state: DueState
    triggers: list[TriggerState]
    open_work_order_id: UUID | None
    created_at: datetime


class PlanQuery(ListQuery):
    asset_id: UUID | None = None
    machine_id: UUID | None = None
    state: DueState | None = None


# -- work orders ------------------------------------------------------------------------


class Part(_In):
    name: Name
    quantity: Decimal = Field(gt=0, le=1_000_000)


class ChecklistResult(_In):
    task: Name
    done: bool = False
    note: Annotated[str, Field(max_length=500)] | None = None


class WorkOrderIn(_In):
    """A request (anyone with `maintenance.request`) or a corrective order from a downtime."""

    kind: Literal["request", "corrective"] = "request"
    asset_id: UUID | None = Field(None, description="The asset; or give `machine_id` for the machine's own.")
    machine_id: UUID | None = None
    downtime_id: UUID | None = Field(None, description="The stop it is raised from (corrective).")
    title: Name
    description: Text | None = None


class WorkOrderPatch(_In):
    assignee_id: UUID | None = None
    scheduled_for: datetime | None = None
    checklist: list[ChecklistResult] | None = Field(None, max_length=100)
    parts: list[Part] | None = Field(None, max_length=100)
    labour_minutes: int | None = Field(None, ge=0, le=100_000)
    notes: Text | None = None
    description: Text | None = None


class FinishIn(_In):
    checklist: list[ChecklistResult] | None = Field(None, max_length=100)
    parts: list[Part] | None = Field(None, max_length=100)
    labour_minutes: int | None = Field(None, ge=0, le=100_000)
    notes: Text | None = None
    confirm: bool = Field(False, description="Explicit confirmation when no signature is asked.")
    signature: SignatureIn | None = Field(None, description="Needed when the plan requires a signature.")


class TransitionIn(_In):
    note: Annotated[str, Field(max_length=500)] | None = None
    scheduled_for: datetime | None = None
    assignee_id: UUID | None = None


class WorkOrderOut(BaseModel):
    id: UUID
    number: str
    kind: WorkOrderKind
    status: WorkOrderStatus
    asset_id: UUID
    asset_name: str
    machine_id: UUID | None
    plan_id: UUID | None
    downtime_id: UUID | None
    booked_downtime_id: UUID | None
    title: str
    description: str | None
    trigger: Trigger | None
    due_at: datetime | None
    assignee_id: UUID | None
    requested_by: UUID | None
    approved_by: UUID | None
    scheduled_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    checklist: list[ChecklistResult]
    parts: list[Part]
    labour_minutes: int | None
    notes: str | None
    on_time: bool | None
    requires_signature: bool
    signature_id: UUID | None
    signatures: list[SignatureOut] = Field(default_factory=list, description="The closing signature, if any.")
    needs_stop: bool
    created_at: datetime
    updated_at: datetime


class WorkOrderQuery(ListQuery):
    status: WorkOrderStatus | None = None
    kind: WorkOrderKind | None = None
    asset_id: UUID | None = None
    machine_id: UUID | None = None
    open: bool | None = Field(None, description="true: neither done nor cancelled.")


class ReliabilityQuery(_In):
    from_: AwareDatetime = Field(alias="from", description="Start of the period.")
    to: AwareDatetime = Field(description="End of the period.")
    machine_id: UUID | None = None


class ReasonReliability(BaseModel):
    """One asset's failures of one reason (see factoryos/maintenance/reason_reliability.py)."""

    reason_id: UUID | None = Field(description="null: stops still waiting for a reason.")
    code: str | None
    name: str
    failures: int = Field(description="Stops of this reason at least the micro-stop threshold long.")
    stop_seconds: float = Field(description="Their unplanned stop time, repair work included.")
    mtbf_seconds: float = Field(description="The asset's run time / these failures.")
    mttr_seconds: float = Field(description="Their stop time / these failures.")


class Reliability(BaseModel):
    asset_id: UUID
    machine_id: UUID
    asset_name: str
    run_seconds: float
    failures: int
    unplanned_stop_seconds: float
    mtbf_seconds: float | None = Field(description="Run time / failures.")
    mttr_seconds: float | None = Field(description="Unplanned stop time / failures.")
    reasons: list[ReasonReliability] = Field(default_factory=list,
                                              description="The same failures per reason, most stop time first.")


class PlannedStopQuery(_In):
    from_: AwareDatetime = Field(alias="from", description="Start of the period.")
    to: AwareDatetime = Field(description="End of the period.")
    site_id: UUID | None = None
    machine_id: UUID | None = None


class PlannedStop(BaseModel):
    """Approved or scheduled preventive work that needs its machine stopped, not started yet."""

    work_order_id: UUID
    number: str
    status: Literal["approved", "scheduled"]
    machine_id: UUID
    machine_code: str
    title: str
    starts_at: datetime | None = Field(description="When it is scheduled; null: approved, not scheduled yet.")
    ends_at: datetime | None = Field(description="starts_at + the plan's estimated duration.")
    estimated_minutes: int
    due_at: datetime | None
