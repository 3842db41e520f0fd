"""Request shape of a member's certified machines (shared by server and client)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class MachinesBody(BaseModel):
    """Limit a member to the machines they are certified for, or (null) lift the limit."""

    model_config = ConfigDict(extra="forbid")

    machine_ids: list[UUID] | None = Field(
        ..., min_length=1, max_length=500,
        description="Ids of this company's machines; null: every machine of the member's sites.")
