"""Shift handover notes (`/api/v1/shift-handover/notes`): what the outgoing shift leaves for the next."""

from __future__ import annotations

from uuid import UUID

from factoryos.client.transport import Transport
from factoryos.reports.handover_models import NoteOut


async def post_handover_note(t: Transport, body: str, *, site_id: UUID | str | None = None,
                             shift_instance_id: UUID | str | None = None) -> NoteOut:
    """A note for a given shift, or (with `site_id`) for the shift running now at that site."""
    payload = {"body": body, "site_id": str(site_id) if site_id else None,
               "shift_instance_id": str(shift_instance_id) if shift_instance_id else None}
    return await t.send("POST", "/shift-handover/notes", NoteOut,
                        json={k: v for k, v in payload.items() if v is not None})


async def handover_notes(t: Transport, shift_instance_id: UUID | str) -> list[NoteOut]:
    return await t.get("/shift-handover/notes", list[NoteOut], params={"shift_instance_id": str(shift_instance_id)})
