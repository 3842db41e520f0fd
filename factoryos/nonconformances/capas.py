"""CAPAs: from one or more NCs, the problem, containment, root cause (5-Why), actions with owners and due
dates, and the effectiveness check.

Each step (containment, root cause, actions, effectiveness) is approved by an electronic signature
on the CAPA (record type `capa.<step>`) over that step's content: editing the content afterwards
voids the approval (the signature shows as no longer valid) and the step needs approving again.
The CAPA's owner may not approve their own CAPA: a second person signs. Approving effectiveness
(all steps approved, every action done, found effective) closes the CAPA.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, insert, select, update

from factoryos.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from factoryos.listing import like_pattern
from factoryos.nonconformances import site_days
from factoryos.nonconformances.capa_models import (
    STEPS,
    ActionDoneIn,
    ActionIn,
    ActionOut,
    ActionQuery,
    CapaIn,
    CapaOut,
    CapaPage,
    CapaPatch,
    CapaQuery,
    CapaSummary,
    StepOut,
)
from factoryos.nonconformances.common import newest_first, next_number, user_names
from factoryos.nonconformances.service import nc_code
from factoryos.schema.identity import memberships
from factoryos.schema.nonconformances import capa_actions, capa_nonconformances, capas, nonconformances
from factoryos.signatures.service import signatures_for

t = capas
a = capa_actions
STEP_FIELDS = {
    "containment": ("problem", "containment"),
    "root_cause": ("problem", "whys", "root_cause"),
    "effectiveness": ("effectiveness_check", "effective"),
}


def capa_code(number: int) -> str:
    return f"CAPA-{number:04d}"


def record_type(step: str) -> str:
    return f"capa.{step}"


def require_capa(conn: Connection, tenant_id: UUID, capa_id: UUID, *, for_update: bool = False) -> RowMapping:
    stmt = select(t).where(t.c.tenant_id == tenant_id, t.c.id == capa_id)
    row = conn.execute(stmt.with_for_update() if for_update else stmt).mappings().first()
    if row is None:
        raise NotFound(f"CAPA {capa_id} not found", code="capa_not_found")
    return row


def _open(row: RowMapping) -> None:
    if row["status"] == "closed":
        raise Conflict(f"{capa_code(row['number'])} is closed", code="capa_closed")


def _require_member(conn: Connection, tenant_id: UUID, user_id: UUID, field: str) -> None:
    found = conn.execute(select(memberships.c.user_id).where(memberships.c.tenant_id == tenant_id,
                                                             memberships.c.user_id == user_id)).first()
    if found is None:
        raise ValidationFailed(f"{user_id} is not a member of this company", code="not_a_member", field=field)


def _actions(conn: Connection, tenant_id: UUID, capa_id: UUID) -> list[RowMapping]:
    return list(conn.execute(select(a).where(a.c.tenant_id == tenant_id, a.c.capa_id == capa_id)
                             .order_by(a.c.due_date, a.c.created_at, a.c.id)).mappings())


def step_content(row: RowMapping | dict[str, Any], actions: list[RowMapping], step: str) -> dict[str, Any]:
    """What an approval of `step` signs."""
    content: dict[str, Any] = {"record": record_type(step), "capa": row["number"]}
    if step == "actions":
        content["actions"] = [{k: x[k] for k in ("id", "kind", "description", "owner_id", "due_date")}
                              for x in actions]
    else:
        content.update({k: row[k] for k in STEP_FIELDS[step]})
    if step == "effectiveness":
        content["actions_done"] = [{"id": x["id"], "done_at": x["done_at"]} for x in actions]
    return content


def _filled(row: RowMapping, actions: list[RowMapping], step: str) -> str | None:
    """Why the step cannot be approved yet, or None."""
    if step == "containment" and not row["containment"]:
        return "write the containment first"
    if step == "root_cause" and not (row["root_cause"] and row["whys"]):
        return "answer the whys and state the root cause first"
    if step == "actions" and not actions:
        return "add at least one action first"
    if step == "effectiveness":
        if any(x["done_at"] is None for x in actions):
            return "every action must be done before effectiveness is approved"
        if not row["effectiveness_check"] or row["effective"] is not True:
            return "record the effectiveness check and find the actions effective first"
    return None


def _steps(conn: Connection, tenant_id: UUID, row: RowMapping, actions: list[RowMapping]) -> list[StepOut]:
    out: list[StepOut] = []
    earlier_approved = True
    for step in STEPS:
        sigs = signatures_for(conn, tenant_id, record_type(step), row["id"], step_content(row, actions, step))
        approved = any(s.valid and s.meaning == "approved" for s in sigs)
        ready = earlier_approved and _filled(row, actions, step) is None
        out.append(StepOut(step=step, ready=ready, approved=approved, signatures=sigs))
        earlier_approved = earlier_approved and approved
    return out


def check_approvable(conn: Connection, tenant_id: UUID, row: RowMapping, step: str) -> dict[str, Any]:
    """The content to sign for `step`, or why not now."""
    _open(row)
    actions = _actions(conn, tenant_id, row["id"])
    why = _filled(row, actions, step)
    if why is not None:
        raise Conflict(f"{capa_code(row['number'])}: {why}", code="capa_step_incomplete", field="step")
    for earlier in STEPS[:STEPS.index(step)]:
        sigs = signatures_for(conn, tenant_id, record_type(earlier), row["id"], step_content(row, actions, earlier))
        if not any(s.valid and s.meaning == "approved" for s in sigs):
            raise Conflict(f"{capa_code(row['number'])}: approve {earlier.replace('_', ' ')} first",
                           code="capa_step_order", field="step")
    return step_content(row, actions, step)


def close_capa(conn: Connection, tenant_id: UUID, capa_id: UUID) -> None:
    now = datetime.now(UTC)
    conn.execute(update(t).where(t.c.tenant_id == tenant_id, t.c.id == capa_id)
                 .values(status="closed", closed_at=now, updated_at=now))


# -- write -------------------------------------------------------------------------------------


def create_capa(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: CapaIn) -> UUID:
    ncs = set(body.nonconformance_ids)
    found = set(conn.execute(select(nonconformances.c.id).where(
        nonconformances.c.tenant_id == tenant_id, nonconformances.c.id.in_(ncs))).scalars())
    if found != ncs:
        missing = sorted(str(i) for i in ncs - found)
        raise ValidationFailed(f"no nonconformance {', '.join(missing)} in this company",
                               code="nonconformance_not_found", field="nonconformance_ids")
    owner = body.owner_id or user_id
    if owner is not None:
        _require_member(conn, tenant_id, owner, "owner_id")
    number = next_number(conn, t, tenant_id)
    capa_id = conn.execute(insert(t).values(
        tenant_id=tenant_id, number=number, title=body.title, problem=body.problem, containment=body.containment or None,
        owner_id=owner, created_by=user_id).returning(t.c.id)).scalar_one()
    conn.execute(insert(capa_nonconformances), [{"tenant_id": tenant_id, "capa_id": capa_id, "nonconformance_id": n}
                                                for n in sorted(ncs)])
    return capa_id


def update_capa(conn: Connection, tenant_id: UUID, capa_id: UUID, body: CapaPatch) -> tuple[dict, dict]:
    row = require_capa(conn, tenant_id, capa_id, for_update=True)
    _open(row)
    sent = body.model_dump(exclude_unset=True, exclude={"reason"})
    for name in ("title", "problem", "whys"):
        if name in sent and sent[name] is None:
            raise ValidationFailed(f"{name} cannot be cleared", code="null_not_allowed", field=name)
    for name in ("containment", "root_cause", "effectiveness_check"):
        if name in sent and sent[name] == "":
            sent[name] = None
    if sent.get("owner_id") is not None:
        _require_member(conn, tenant_id, sent["owner_id"], "owner_id")
    changed = {k: v for k, v in sent.items() if row[k] != v}
    if changed:
        conn.execute(update(t).where(t.c.tenant_id == tenant_id, t.c.id == capa_id)
                     .values(**changed, updated_at=datetime.now(UTC)))
    return {k: _plain(row[k]) for k in changed}, {k: _plain(v) for k, v in changed.items()}


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


def add_action(conn: Connection, tenant_id: UUID, capa_id: UUID, body: ActionIn) -> RowMapping:
    row = require_capa(conn, tenant_id, capa_id, for_update=True)
    _open(row)
    _require_member(conn, tenant_id, body.owner_id, "owner_id")
    conn.execute(update(t).where(t.c.tenant_id == tenant_id, t.c.id == capa_id).values(updated_at=datetime.now(UTC)))
    return conn.execute(insert(a).values(tenant_id=tenant_id, capa_id=capa_id, kind=body.kind,
                                         description=body.description, owner_id=body.owner_id,
                                         due_date=body.due_date).returning(a)).mappings().one()


def complete_action(conn: Connection, tenant_id: UUID, capa_id: UUID, action_id: UUID, user_id: UUID,
                    may_manage: bool, body: ActionDoneIn) -> RowMapping:
    """Mark an action done: its owner, or someone who manages quality."""
    row = require_capa(conn, tenant_id, capa_id, for_update=True)
    _open(row)
    action = conn.execute(select(a).where(a.c.tenant_id == tenant_id, a.c.capa_id == capa_id, a.c.id == action_id)
                          .with_for_update()).mappings().first()
    if action is None:
        raise NotFound(f"action {action_id} not found on {capa_code(row['number'])}", code="capa_action_not_found")
    if action["owner_id"] != user_id and not may_manage:
        raise PermissionDenied("only the action's owner (or quality.manage) marks it done",
                               extra={"permission": "quality.manage"})
    if action["done_at"] is not None:
        raise Conflict("this action is already done", code="capa_action_done")
    return conn.execute(update(a).where(a.c.tenant_id == tenant_id, a.c.id == action_id).values(
        done_at=datetime.now(UTC), done_by=user_id, done_note=body.note or None).returning(a)).mappings().one()


# -- read --------------------------------------------------------------------------------------


def _action_out(x: RowMapping, capa: RowMapping | dict[str, Any], names: dict[UUID, str], today: date) -> ActionOut:
    return ActionOut(id=x["id"], capa_id=x["capa_id"], capa_code=capa_code(capa["number"]), capa_title=capa["title"],
                     kind=x["kind"], description=x["description"], owner_id=x["owner_id"],
                     owner_name=names.get(x["owner_id"]), due_date=x["due_date"],
                     overdue=x["done_at"] is None and x["due_date"] < today, done_at=x["done_at"],
                     done_by=x["done_by"], done_note=x["done_note"])


def summaries(conn: Connection, rows: list[RowMapping]) -> list[CapaSummary]:
    names = user_names(conn, [r["owner_id"] for r in rows])
    return [CapaSummary(id=r["id"], number=r["number"], code=capa_code(r["number"]), title=r["title"],
                        status=r["status"], owner_id=r["owner_id"], owner_name=names.get(r["owner_id"]),
                        created_at=r["created_at"], updated_at=r["updated_at"], closed_at=r["closed_at"])
            for r in rows]


def get_capa(conn: Connection, tenant_id: UUID, capa_id: UUID) -> CapaOut:
    row = require_capa(conn, tenant_id, capa_id)
    actions = _actions(conn, tenant_id, capa_id)
    ncs = conn.execute(select(nonconformances.c.id, nonconformances.c.number).join(
        capa_nonconformances, (capa_nonconformances.c.tenant_id == nonconformances.c.tenant_id)
        & (capa_nonconformances.c.nonconformance_id == nonconformances.c.id)).where(
        capa_nonconformances.c.tenant_id == tenant_id, capa_nonconformances.c.capa_id == capa_id)
        .order_by(nonconformances.c.number)).all()
    names = user_names(conn, [x["owner_id"] for x in actions])
    today = datetime.now(site_days.capa_zones(conn, tenant_id, [capa_id]).get(capa_id, UTC)).date()
    return CapaOut(**summaries(conn, [row])[0].model_dump(), problem=row["problem"], containment=row["containment"],
                   whys=list(row["whys"]), root_cause=row["root_cause"],
                   effectiveness_check=row["effectiveness_check"], effective=row["effective"],
                   nonconformance_ids=[n.id for n in ncs], nonconformance_codes=[nc_code(n.number) for n in ncs],
                   actions=[_action_out(x, row, names, today) for x in actions],
                   steps=_steps(conn, tenant_id, row, actions))


def list_capas(conn: Connection, tenant_id: UUID, query: CapaQuery) -> CapaPage:
    where: list[Any] = [t.c.tenant_id == tenant_id]
    if query.status is not None:
        where.append(t.c.status == query.status)
    if query.owner_id is not None:
        where.append(t.c.owner_id == query.owner_id)
    if query.nonconformance_id is not None:
        where.append(t.c.id.in_(select(capa_nonconformances.c.capa_id).where(
            capa_nonconformances.c.tenant_id == tenant_id,
            capa_nonconformances.c.nonconformance_id == query.nonconformance_id)))
    if query.q:
        pattern = like_pattern(query.q)
        where.append(t.c.title.ilike(pattern, escape="\\") | t.c.problem.ilike(pattern, escape="\\"))
    rows, cursor = newest_first(conn, t, where, query.cursor, query.limit)
    return CapaPage(items=summaries(conn, rows), next_cursor=cursor)


def list_actions(conn: Connection, tenant_id: UUID, owner_id: UUID, query: ActionQuery) -> list[ActionOut]:
    """An owner's actions, soonest due first (what the dashboard shows them). Late is judged by each
    action's site calendar (its CAPA's first NC's machine's site): the rows are read open and judged here."""
    now = datetime.now(UTC)
    today = now.date()
    where: list[Any] = [a.c.tenant_id == tenant_id, a.c.owner_id == owner_id, t.c.status == "open"]
    if query.open or query.overdue:
        where.append(a.c.done_at.is_(None))
    rows = conn.execute(select(a, t.c.number, t.c.title).join(t, (t.c.tenant_id == a.c.tenant_id)
                                                                 & (t.c.id == a.c.capa_id))
                        .where(*where).order_by(a.c.due_date, a.c.id).limit(query.limit)).mappings().all()
    names = user_names(conn, [owner_id])
    actions = [_action_out(r, r, names, today) for r in rows]
    return site_days.in_site_time(conn, tenant_id, actions, now=now, overdue_only=query.overdue)
