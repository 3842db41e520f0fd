"""Counter anomalies of a machine: jumps held back from production until a supervisor decides."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from factoryos.live.snapshots import LiveSnapshots
from factoryos.plant.listing import Page
from factoryos.production import anomalies
from factoryos.production.anomaly_models import AnomalyOut, AnomalyQuery
from server.api import Context, Router

router = Router(prefix="/api/v1/machines", tags=("production",))

VIEW = "assets.view"
PLAN = "production.plan"


@router.get("/{machine_id:uuid}/anomalies", permission=VIEW, query=AnomalyQuery, response=Page[AnomalyOut])
def list_counter_anomalies(ctx: Context, machine_id: UUID, query: AnomalyQuery) -> Page[AnomalyOut]:
    """A machine's counter anomalies, newest first; `status=pending` for those waiting for a decision."""
    page = anomalies.list_anomalies(ctx.conn, ctx.tenant_id, machine_id, query)
    return Page[AnomalyOut](items=[anomalies.anomaly_out(r) for r in page.items], next_cursor=page.next_cursor)


def _decide(ctx: Context, machine_id: UUID, anomaly_id: UUID, decision: Literal["accept", "discard"]) -> AnomalyOut:
    before, after = anomalies.decide(ctx.conn, ctx.tenant_id, machine_id, anomaly_id, decision, ctx.user_id,
                                     datetime.now(UTC))
    out = anomalies.anomaly_out(after)
    ctx.audit(decision, anomalies.ENTITY, anomaly_id, before=anomalies.anomaly_out(before).model_dump(mode="json"),
              after=out.model_dump(mode="json"))
    snapshots: LiveSnapshots | None = ctx.state.live_snapshots
    if snapshots is not None:
        tenant_id = ctx.tenant_id  # the pending count (and accepted parts) show on the next read
        ctx.after_commit(lambda: snapshots.forget(tenant_id))
    return out


@router.post("/{machine_id:uuid}/anomalies/{anomaly_id:uuid}/accept", permission=PLAN, response=AnomalyOut)
def accept_counter_anomaly(ctx: Context, machine_id: UUID, anomaly_id: UUID) -> AnomalyOut:
    """Accept a pending jump: its parts are stored as production in the minute it was detected.

    Send an Idempotency-Key for safe retries; deciding twice answers 409 `anomaly_already_decided`."""
    return _decide(ctx, machine_id, anomaly_id, "accept")


@router.post("/{machine_id:uuid}/anomalies/{anomaly_id:uuid}/discard", permission=PLAN, response=AnomalyOut)
def discard_counter_anomaly(ctx: Context, machine_id: UUID, anomaly_id: UUID) -> AnomalyOut:
    """Discard a pending jump: nothing is stored (the audit log keeps it)."""
    return _decide(ctx, machine_id, anomaly_id, "discard")
