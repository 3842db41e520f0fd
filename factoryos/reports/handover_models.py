"""What the shift handover routes take and answer: notes for the next shift and supervisors'
sign-offs of a shift's report. Pure models, shared by the server and the client (the TUI reads
notes with them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from factoryos.errors import ValidationFailed

NOTE_MAX = 4000


class Meaning(StrEnum):
    REVIEWED = "reviewed"
    APPROVED = "approved"


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shift_instance_id: UUID | None = Field(None, description="The shift (or give `site_id` for the one running now).")
    site_id: UUID | None = Field(None, description="The site whose running shift the note is for.")
    body: str = Field(..., max_length=NOTE_MAX, description="What the next shift needs to know.")

    @field_validator("body")
    @classmethod
    def _text(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValidationFailed("write the note first", code="note_empty", field="body")
        return value

    @model_validator(mode="after")
    def _one(self) -> NoteIn:
        if (self.shift_instance_id is None) == (self.site_id is None):
            raise ValidationFailed("give shift_instance_id or site_id (one of them)", code="shift_required",
                                   field="shift_instance_id")
        return self


class NoteOut(BaseModel):
    id: UUID
    shift_instance_id: UUID
    author_id: UUID
    author: str
    body: str
    created_at: datetime


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shift_instance_id: UUID
    meaning: Meaning = Field(Meaning.REVIEWED, description="What the signature means: reviewed or approved.")
    reason: str | None = Field(None, max_length=500, description="Why, when it needs saying.")
    password: str = Field(..., min_length=1, max_length=1024, description="The signer's password, entered again.")


class SignOffOut(BaseModel):
    id: UUID
    shift_instance_id: UUID
    signer_id: UUID
    signer: str
    meaning: Meaning
    reason: str | None
    content_hash: str
    signed_at: datetime
    changed_since_signed: bool | None = Field(None, description="The figures differ from those signed.")


class ShiftQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shift_instance_id: UUID
