"""The preventive work orders of plans that fell due, made by a server duty with nobody reading.

The one server process of an installation that holds the duties (`server.duties`) runs
`DueOrders` every `interval` seconds: company by company, in that company's tenant transaction
(row-level security as for a request), it makes the order of each active plan found due and
audits it with no actor (the system), and reports it to the company's webhooks (`work_order.due`,
in the same transaction). So the dashboard, the due list and the planning screen
learn of a due order without anyone having opened a screen at the moment it fell due.

Reading the due list or the work orders still makes them too (`made_due`, as the duty), so
what is shown is judged on the freshest data. Both are idempotent: the partial unique index on a
plan's open order turns a second insert into a no-op, and order numbers are taken under a
per-company lock, so a reader and the duty (or two duty holders during a takeover) make one.

The app role sees one company at a time: the companies are found through the login's narrow
directory function (`identity_user_companies`, company ids of each account; a company nobody
belongs to has nobody to maintain its machines), all asked in one pipeline whether they have an
active plan without an open order; only those are judged plan by plan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Connection, Engine, RowMapping, text

from factoryos.audit.writer import AuditEvent, record
from factoryos.background import running
from factoryos.db.tenant import ask_each_company, tenant_transaction
from factoryos.integrations import facts
from factoryos.integrations.outbox import emit
from factoryos.licensing.document import Edition, License
from factoryos.licensing.errors import LicenseError
from factoryos.licensing.gating import require_module
from factoryos.maintenance import work_orders

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60.0  # Settings.maintenance_due_seconds in the server
ENTITY = "maintenance_work_order"
MODULE = ("Maintenance", Edition.ADVANCED)  # the routes are gated by it too

_COMPANIES = text("select distinct c.tenant_id from users u cross join lateral identity_user_companies(u.id) c "
                  "order by 1")
# psycopg parameters: asked of every company in one round trip.
_WAITING = ("select exists (select 1 from maintenance_plans p where p.tenant_id = %(t)s and p.active and not exists "
            "(select 1 from maintenance_work_orders w where w.tenant_id = %(t)s and w.plan_id = p.id "
            "and w.status = any(%(open)s))) as waiting")


def licensed(document: License | None) -> bool:
    """The license in force (None: the evaluation, which includes it) has the maintenance module."""
    try:
        require_module(document, MODULE[1], MODULE[0])
    except LicenseError:
        return False
    return True


def companies(engine: Engine) -> list[UUID]:
    """The companies with an active plan that has no open order: only they can have one made.

    Every company with a member is asked in one transaction and one pipeline (the tenant switched
    before each company's question: RLS as for a request), so a pass over many companies without
    plans costs one round trip, not one each."""
    with engine.begin() as conn:
        ids = list(conn.execute(_COMPANIES).scalars())
        answers = ask_each_company(conn, ids, _WAITING, lambda t: {"t": t, "open": list(work_orders.OPEN)})
    return [tenant_id for tenant_id, answer in zip(ids, answers, strict=True) if answer[0]["waiting"]]


def made_due(conn: Connection, tenant_id: UUID, now: datetime) -> list[RowMapping]:
    """`work_orders.generate_due` with a `work_order.due` webhook event per order made, in the same
    transaction: only the insert that made an order returns it, so of a duty and a reader racing
    (or two duty holders) exactly one reports it."""
    made = work_orders.generate_due(conn, tenant_id, now)
    emit(conn, tenant_id, [facts.work_order_due(row["id"], work_orders.number_label(row["number"]), row["plan_id"],
                                                row["asset_id"], row["machine_id"], row["title"], row["trigger"],
                                                row["due_at"], row["created_at"]) for row in made])
    return made


def generate_for(engine: Engine, tenant_id: UUID, now: datetime) -> list[UUID]:
    """The due orders of one company, made, reported and audited in its own transaction; their ids."""
    with tenant_transaction(engine, tenant_id) as conn:
        made = made_due(conn, tenant_id, now)
        for row in made:
            record(conn, AuditEvent(tenant_id=tenant_id, action="create", entity_type=ENTITY,
                                    entity_id=str(row["id"]),
                                    after=work_orders.snapshot(conn, tenant_id, row) | {"generated": "plan due"}))
    return [row["id"] for row in made]


class DueOrders:
    """`run_forever` in the server holding the duties; `run_once` (one pass) for tests and drills."""

    def __init__(self, engine: Engine, *, interval: float = INTERVAL_SECONDS,
                 allowed: Callable[[], bool] = lambda: True) -> None:
        self.engine = engine
        self.interval = interval
        self.allowed = allowed  # the license in force includes maintenance (asked before every pass)
        self.last_pass: datetime | None = None

    def run_once(self, now: datetime | None = None) -> int:
        """One pass over every company; returns the orders made. A company that fails is skipped
        (logged): the others still get theirs, and the next pass tries it again."""
        made = 0
        for tenant_id in companies(self.engine):
            try:
                made += len(generate_for(self.engine, tenant_id, now or datetime.now(UTC)))
            except Exception:
                log.exception("due maintenance orders of company %s", tenant_id)
        self.last_pass = datetime.now(UTC)
        if made:
            log.info("made %d preventive work orders of plans that fell due", made)
        return made

    async def run_forever(self) -> None:
        while True:
            try:
                if self.allowed():
                    await asyncio.to_thread(self.run_once)
            except Exception as exc:  # database away or being restored: the next pass catches up
                log.warning("due maintenance orders: %s", type(exc).__name__)
            await asyncio.sleep(self.interval)


@asynccontextmanager
async def due_orders(engine: Engine, *, enabled: bool, interval: float = INTERVAL_SECONDS,
                     allowed: Callable[[], bool] = lambda: True) -> AsyncIterator[DueOrders | None]:
    """Make due preventive orders while the server runs; `enabled` in the duty holder only."""
    if not enabled:
        yield None
        return
    duty = DueOrders(engine, interval=interval, allowed=allowed)
    async with running(duty.run_forever(), "due maintenance orders"):
        yield duty
