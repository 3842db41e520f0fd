"""Reading and changing a company's onboarding state (one row per company, made on first change).

A company without a row is at the first step with nothing done, so creating a company
writes nothing here. Changes lock the row, so two admins clicking at once serialise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.errors import ValidationFailed
from factoryos.onboarding.models import OnboardingOut, StepOut
from factoryos.onboarding.steps import FIRST, LAST, STEP_TITLES, STEPS, check_step, next_step
from factoryos.schema.onboarding import onboarding_state


def load(conn: Connection, tenant_id: UUID) -> RowMapping | None:
    stmt = select(onboarding_state).where(onboarding_state.c.tenant_id == tenant_id)
    return conn.execute(stmt).mappings().first()


def view(row: RowMapping | dict[str, Any] | None) -> OnboardingOut:
    recorded: dict[str, Any] = dict(row["steps"]) if row else {}
    steps = []
    for name in STEPS:
        entry = recorded.get(name) or {}
        steps.append(StepOut(step=name, title=STEP_TITLES[name], status=entry.get("status", "pending"),
                             data=entry.get("data") or {}, updated_at=entry.get("at"), updated_by=entry.get("by")))
    completed_at = row["completed_at"] if row else None
    return OnboardingOut(
        current_step=row["current_step"] if row else FIRST,
        completed=completed_at is not None,
        completed_at=completed_at,
        updated_at=row["updated_at"] if row else None,
        steps=steps,
    )


def audit_view(row: RowMapping | dict[str, Any] | None) -> dict[str, Any]:
    """The compact shape kept in the audit log."""
    if row is None:
        return {"current_step": FIRST, "steps": {}, "completed": False}
    return {
        "current_step": row["current_step"],
        "steps": {k: v.get("status") for k, v in dict(row["steps"]).items()},
        "completed": row["completed_at"] is not None,
    }


def _locked(conn: Connection, tenant_id: UUID) -> tuple[dict[str, Any] | None, RowMapping]:
    """The row, locked (made when missing), and what it was before: None when just made."""
    made = conn.execute(
        pg_insert(onboarding_state).values(tenant_id=tenant_id).on_conflict_do_nothing()
        .returning(onboarding_state.c.tenant_id)
    ).first()
    stmt = select(onboarding_state).where(onboarding_state.c.tenant_id == tenant_id).with_for_update()
    row = conn.execute(stmt).mappings().one()
    return (None if made else dict(row)), row


def _write(conn: Connection, tenant_id: UUID, user_id: UUID | None, **values: Any) -> RowMapping:
    if values.get("current_step") == LAST:
        values["completed_at"] = func.coalesce(onboarding_state.c.completed_at, func.now())
    stmt = (
        update(onboarding_state)
        .where(onboarding_state.c.tenant_id == tenant_id)
        .values(**values, updated_by=user_id, updated_at=func.now())
        .returning(onboarding_state)
    )
    return conn.execute(stmt).mappings().one()


def _entry(status: str, user_id: UUID | None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": status, "data": data or {}, "at": datetime.now(UTC).isoformat(),
            "by": str(user_id) if user_id else None}


def move(conn: Connection, tenant_id: UUID, user_id: UUID | None, step: str) -> tuple[dict | None, RowMapping]:
    """Put the wizard on `step` (where it resumes); moving to the last step completes it."""
    check_step(step, "current_step")
    before, row = _locked(conn, tenant_id)
    steps = dict(row["steps"])
    if step == LAST:
        steps[LAST] = _entry("done", user_id)
    return before, _write(conn, tenant_id, user_id, current_step=step, steps=steps)


def record(
    conn: Connection, tenant_id: UUID, user_id: UUID | None, step: str, status: str, data: dict[str, Any]
) -> tuple[dict | None, RowMapping]:
    """Mark `step` done or skipped (with its small data) and move the wizard to the next step."""
    check_step(step)
    if step == LAST and status != "done":
        raise ValidationFailed("the last step cannot be skipped: mark it done to finish",
                               code="cannot_skip_complete", field="status")
    before, row = _locked(conn, tenant_id)
    steps = dict(row["steps"])
    steps[step] = _entry(status, user_id, data)
    following = next_step(step)
    if following == LAST:
        steps[LAST] = _entry("done", user_id)
    return before, _write(conn, tenant_id, user_id, current_step=following, steps=steps)
