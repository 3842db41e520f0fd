"""Request and response shapes of the onboarding state (also what the typed client reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.onboarding.steps import StepName

StepStatus = Literal["pending", "done", "skipped"]
DataKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
# JSONB holds neither NaN nor infinity: refused here as a 422, not by the database.
DataValue = Annotated[str, Field(max_length=500)] | int | Annotated[float, Field(allow_inf_nan=False)] | bool | None
StepData = Annotated[
    dict[DataKey, DataValue],
    Field(max_length=20, description="Small facts about the step, e.g. {\"file_name\": \"jobs.csv\"}."),
]


class StepOut(BaseModel):
    step: StepName
    title: str
    status: StepStatus
    data: dict[str, DataValue] = Field(default_factory=dict)
    updated_at: datetime | None = None
    updated_by: UUID | None = None


class OnboardingOut(BaseModel):
    current_step: StepName = Field(description="Where the wizard resumes.")
    completed: bool
    completed_at: datetime | None
    updated_at: datetime | None
    steps: list[StepOut] = Field(description="Every step in order with its status.")

    def step(self, name: str) -> StepOut:
        return next(s for s in self.steps if s.step == name)


class OnboardingMove(BaseModel):
    """Move the wizard to a step (where it resumes); `complete` finishes the onboarding."""

    model_config = ConfigDict(extra="forbid")

    current_step: StepName


class StepUpdate(BaseModel):
    """Record a step as done or skipped; the wizard moves on to the next step."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["done", "skipped"]
    data: StepData = Field(default_factory=dict)
