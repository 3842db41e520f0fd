"""ERP confirmations: what each ended run produced, read back by the ERP with a cursor.

The cursor is the row's id (an identity). Reading twice from the same cursor gives the same
rows, and a reader never skips one: ids are drawn when a run ends but commit later, so a
writer holds the company's confirmation lock shared from before its insert until its commit
(`hold_for_write`), and the reader takes it exclusively (waits for those in flight) before it
reads. Rows are never updated or deleted afterwards.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from sqlalchemy import Connection, and_, select, text

from factoryos.errors import ValidationFailed
from factoryos.orders.order_models import ConfirmationOut, ConfirmationPage
from factoryos.schema.identity import users
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import order_confirmations as conf
from factoryos.schema.orders import order_operations as ops
from factoryos.schema.plant import machines

_LOCK_CLASS = 160_012  # advisory lock namespace: ERP confirmations


def _lock_key(tenant_id: UUID) -> int:
    return int.from_bytes(hashlib.sha256(tenant_id.bytes).digest()[:4], "big", signed=True)


def hold_for_write(conn: Connection, tenant_id: UUID) -> None:
    """Call before inserting a confirmation: held until the transaction ends."""
    conn.execute(text("select pg_advisory_xact_lock_shared(:c, :k)"), {"c": _LOCK_CLASS, "k": _lock_key(tenant_id)})


def _wait_for_writers(conn: Connection, tenant_id: UUID) -> None:
    conn.execute(text("select pg_advisory_xact_lock(:c, :k)"), {"c": _LOCK_CLASS, "k": _lock_key(tenant_id)})


def parse_cursor(since: str | None) -> int:
    if since is None or since.strip() == "":
        return 0
    try:
        value = int(since.strip())
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:  # a bigint
        raise ValidationFailed("since must be the next_cursor of an earlier read (a whole number)",
                               code="invalid_cursor", field="since")
    return value


def confirmations_since(conn: Connection, tenant_id: UUID, since: str | None, limit: int) -> ConfirmationPage:
    """Confirmations after the cursor in id order, at most `limit`, and the cursor to pass next."""
    after = parse_cursor(since)
    _wait_for_writers(conn, tenant_id)
    stmt = (
        select(conf, jobs.c.job_number, ops.c.seq, ops.c.name, machines.c.code.label("machine_code"),
               users.c.display_name, users.c.email)
        .select_from(
            conf.join(jobs, and_(jobs.c.tenant_id == conf.c.tenant_id, jobs.c.id == conf.c.job_id))
            .join(ops, and_(ops.c.tenant_id == conf.c.tenant_id, ops.c.id == conf.c.operation_id))
            .outerjoin(machines, and_(machines.c.tenant_id == conf.c.tenant_id, machines.c.id == conf.c.machine_id))
            .outerjoin(users, users.c.id == conf.c.operator_id)
        )
        .where(conf.c.tenant_id == tenant_id, conf.c.id > after)
        .order_by(conf.c.id)
        .limit(limit)
    )
    items = [ConfirmationOut(
        id=r["id"], order_id=r["job_id"], order_number=r["job_number"], operation_id=r["operation_id"],
        operation_seq=r["seq"], operation_name=r["name"], machine_id=r["machine_id"], machine_code=r["machine_code"],
        good=r["good"], scrap=r["scrap"], started_at=r["started_at"], ended_at=r["ended_at"],
        operator_id=r["operator_id"], operator_name=r["display_name"], operator_email=r["email"], final=r["final"],
    ) for r in conn.execute(stmt).mappings()]
    return ConfirmationPage(items=items, next_cursor=str(items[-1].id if items else after))

