"""Shift handover notes (`/api/v1/shift-handover/notes`): what the outgoing shift leaves for the next."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from factoryos.client.transport import Transport


class HandoverNote(BaseModel):
    id: UUID
    shift_instance_id: UUID
    author_id: UUID
    author: str
    body: str
    created_at: datetime


async def post_handover_note(t: Transport, body: str, *, site_id: UUID | str | None = None,
                             shift_instance_id: UUID | str | None = None) -> HandoverNote:
    """A note for a given shift, or (with `site_id`) for the shift running now at that site."""
    payload = {"body": body, "site_id": str(site_id) if site_id else None,
               "shift_instance_id": str(shift_instance_id) if shift_instance_id else None}
    return await t.send("POST", "/shift-handover/notes", HandoverNote,
                        json={k: v for k, v in payload.items() if v is not None})


async def handover_notes(t: Transport, shift_instance_id: UUID | str) -> list[HandoverNote]:
    return await t.get("/shift-handover/notes", list[HandoverNote], params={"shift_instance_id": str(shift_instance_id)})
