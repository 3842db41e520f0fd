"""Shift handover notes and supervisors' sign-offs of a shift's report.

A sign-off is an electronic signature in the sense of 21 CFR Part 11: the signer re-enters
their password at signing, and the row keeps who, when, the meaning and an optional reason,
plus the SHA-256 of the report's figures as signed. A later change to those figures (a late
entry, a stop given its reason) gives another hash: the report then says "changed since signed".
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, insert, select

from factoryos.errors import Conflict, PermissionDenied
from factoryos.identity.accounts import require_user
from factoryos.identity.passwords import Passwords
from factoryos.plant.sites import require_site
from factoryos.production.records import ShiftInstanceRecord
from factoryos.production.shifts import instance_at, require_instance
from factoryos.reports.handover_models import Meaning, NoteIn, NoteOut, SignIn, SignOffOut
from factoryos.reports.jsonable import report_to_dict
from factoryos.reports.model import ReportDocument
from factoryos.schema.handover import shift_handover_notes as notes_t
from factoryos.schema.handover import shift_signoffs as signoffs_t
from factoryos.schema.identity import users

# Sections that are about the shift, not its figures: adding a note or a signature, or a change
# to another shift, does not make a signed report "changed"; the list of stops waiting for a reason
# grows with the clock (their reasons show in the stops table, which is hashed).
NOT_FIGURES = frozenset({"signoff", "handover_notes", "operator_comments", "comparison", "open_stops"})


def figures_hash(document: ReportDocument) -> str:
    """SHA-256 of the report's KPI tiles and figure sections, independent of who printed it when."""
    data = report_to_dict(document)
    content = {"start": data["header"]["start"], "end": data["header"]["end"], "kpis": data["kpis"],
               "sections": [s for s in data["sections"] if s["key"] not in NOT_FIGURES]}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def resolve_shift(conn: Connection, tenant_id: UUID, body: NoteIn, now: datetime) -> ShiftInstanceRecord:
    """The stored instance the note names, or the one running now at the site (stored on first use)."""
    if body.shift_instance_id is not None:
        return require_instance(conn, tenant_id, body.shift_instance_id)
    site = require_site(conn, tenant_id, body.site_id)  # type: ignore[arg-type]
    found = instance_at(conn, tenant_id, site, now)
    if found is None:
        raise Conflict(f"no shift of site {site['code']} is running now", code="no_running_shift", field="site_id")
    return found


def add_note(conn: Connection, tenant_id: UUID, instance_id: UUID, author_id: UUID, body: str) -> NoteOut:
    row = conn.execute(insert(notes_t).values(tenant_id=tenant_id, shift_instance_id=instance_id, author_id=author_id,
                                              body=body).returning(notes_t)).mappings().one()
    return _note(row, _names(conn, [author_id]))


def list_notes(conn: Connection, tenant_id: UUID, instance_id: UUID) -> list[NoteOut]:
    require_instance(conn, tenant_id, instance_id)
    rows = conn.execute(select(notes_t).where(notes_t.c.tenant_id == tenant_id, notes_t.c.shift_instance_id == instance_id)
                        .order_by(notes_t.c.created_at, notes_t.c.id)).mappings().all()
    names = _names(conn, [r["author_id"] for r in rows])
    return [_note(r, names) for r in rows]


def verify_signer(conn: Connection, passwords: Passwords, user_id: UUID, password: str) -> RowMapping:
    """The signer's own password, as at sign-in: a signature is not made by a terminal left signed in."""
    user = require_user(conn, user_id)
    if not passwords.verify(user["password_hash"], password):
        raise PermissionDenied("the password is not correct", code="invalid_credentials", field="password")
    return user


def sign(conn: Connection, tenant_id: UUID, instance: RowMapping | dict[str, Any], signer: RowMapping, body: SignIn,
         content_hash: str, now: datetime) -> SignOffOut:
    if instance["ends_at"] > now:
        raise Conflict("this shift is still running: sign it once it has ended", code="shift_not_ended",
                       field="shift_instance_id")
    row = conn.execute(insert(signoffs_t).values(
        tenant_id=tenant_id, shift_instance_id=instance["id"], signer_id=signer["id"],
        signer_name=signer["display_name"] or signer["email"], meaning=body.meaning.value,
        reason=(body.reason or "").strip() or None, content_hash=content_hash,
    ).returning(signoffs_t)).mappings().one()
    return _signoff(row, content_hash)


def list_signoffs(conn: Connection, tenant_id: UUID, instance_id: UUID, current_hash: str | None) -> list[SignOffOut]:
    rows = conn.execute(select(signoffs_t).where(signoffs_t.c.tenant_id == tenant_id,
                                                 signoffs_t.c.shift_instance_id == instance_id)
                        .order_by(signoffs_t.c.signed_at, signoffs_t.c.id)).mappings().all()
    return [_signoff(r, current_hash) for r in rows]


def _names(conn: Connection, ids: list[UUID]) -> dict[UUID, str]:
    if not ids:
        return {}
    rows = conn.execute(select(users.c.id, users.c.display_name, users.c.email).where(users.c.id.in_(set(ids)))).all()
    return {r.id: r.display_name or r.email for r in rows}


def _note(row: RowMapping, names: dict[UUID, str]) -> NoteOut:
    return NoteOut(id=row["id"], shift_instance_id=row["shift_instance_id"], author_id=row["author_id"],
                   author=names.get(row["author_id"], "?"), body=row["body"], created_at=row["created_at"])


def _signoff(row: RowMapping, current_hash: str | None) -> SignOffOut:
    return SignOffOut(id=row["id"], shift_instance_id=row["shift_instance_id"], signer_id=row["signer_id"],
                      signer=row["signer_name"], meaning=Meaning(row["meaning"]), reason=row["reason"],
                      content_hash=row["content_hash"], signed_at=row["signed_at"],
                      changed_since_signed=None if current_hash is None else current_hash != row["content_hash"])
