"""Shift handover notes and supervisors' sign-offs of a shift report (/api/v1/shift-handover).

Notes are written by whoever enters production (`production.entry`) and read by the same people:
the next shift's operators are who a handover note is for. Signing needs `production.plan`, the
permission supervisors and plant managers hold and operators do not: a supervisor signs for the
shift they planned. Reading sign-offs needs `reports.export`, as reading the report does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from factoryos.errors import Unauthorized
from factoryos.production.shifts import require_instance
from factoryos.reports.builders import ReportQuery, ReportTopic, build_report
from factoryos.reports.handover import (
    add_note,
    figures_hash,
    list_notes,
    list_signoffs,
    resolve_shift,
    sign,
    verify_signer,
)
from factoryos.reports.handover_models import NoteIn, NoteOut, ShiftQuery, SignIn, SignOffOut
from server.api import Context, Router
from server.auth import runtime_of

router = Router(prefix="/api/v1/shift-handover", tags=("reports",))

WRITE_NOTE = "production.entry"
READ_NOTES = "production.entry"
SIGN = "production.plan"
READ_SIGNOFFS = "reports.export"


def _me(ctx: Context) -> UUID:
    if ctx.principal is None:
        raise Unauthorized("this action needs a signed-in user")
    return ctx.principal.user_id


def _figures_hash(ctx: Context, instance: dict[str, Any], now: datetime) -> str:
    """The hash of the site's shift report as it stands now (what a signature is compared with)."""
    query = ReportQuery.model_validate({"site_id": instance["site_id"], "date": instance["local_date"],
                                        "shift": str(instance["pattern_id"]), "format": "json", "raw": False})
    report = build_report(ctx.conn, ctx.tenant_id, ReportTopic.SHIFTS, query, generated_by="", now=now, signoff=False)
    return figures_hash(report.document)


@router.post("/notes", permission=WRITE_NOTE, body=NoteIn, response=NoteOut, status_code=201)
def post_handover_note(ctx: Context, body: NoteIn) -> NoteOut:
    """Leave a note for the next shift (on a given shift, or the one running now at a site)."""
    instance = resolve_shift(ctx.conn, ctx.tenant_id, body, datetime.now(UTC))
    assert instance["id"] is not None  # resolve_shift stores a computed instance on first use
    out = add_note(ctx.conn, ctx.tenant_id, instance["id"], _me(ctx), body.body)
    ctx.audit("create", "shift_handover_note", out.id, after=out.model_dump(mode="json"))
    return out


@router.get("/notes", permission=READ_NOTES, query=ShiftQuery, response=list[NoteOut])
def list_handover_notes(ctx: Context, query: ShiftQuery) -> list[NoteOut]:
    """The handover notes of one shift, oldest first."""
    return list_notes(ctx.conn, ctx.tenant_id, query.shift_instance_id)


@router.post("/signoffs", permission=SIGN, body=SignIn, response=SignOffOut, status_code=201, long_running=True)
def sign_shift(ctx: Context, body: SignIn) -> SignOffOut:
    """Sign a shift's report: the password again, the meaning and why; the figures' hash is kept."""
    now = datetime.now(UTC)
    signer = verify_signer(ctx.conn, runtime_of(ctx).passwords, _me(ctx), body.password)
    instance = dict(require_instance(ctx.conn, ctx.tenant_id, body.shift_instance_id))
    out = sign(ctx.conn, ctx.tenant_id, instance, signer, body, _figures_hash(ctx, instance, now), now)
    ctx.audit("sign", "shift_signoff", out.id, after=out.model_dump(mode="json", exclude={"changed_since_signed"}))
    return out


@router.get("/signoffs", permission=READ_SIGNOFFS, query=ShiftQuery, response=list[SignOffOut], long_running=True)
def list_shift_signoffs(ctx: Context, query: ShiftQuery) -> list[SignOffOut]:
    """A shift's sign-offs, each saying whether the figures changed since it was signed."""
    instance = dict(require_instance(ctx.conn, ctx.tenant_id, query.shift_instance_id))
    found = list_signoffs(ctx.conn, ctx.tenant_id, query.shift_instance_id, None)
    if not found:
        return []
    return list_signoffs(ctx.conn, ctx.tenant_id, query.shift_instance_id,
                         _figures_hash(ctx, instance, datetime.now(UTC)))
