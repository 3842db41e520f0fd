"""Counter anomalies: jumps larger than a machine could make, held back from production.

The poller's plausibility check sends a counter delta above the machine's bound here
instead of to the count buckets. Each anomaly waits, `pending`, for a supervisor:
accepting stores its parts in the bucket of the minute it was detected (delta key
`anomaly|<id>`, so a retried accept adds nothing twice); discarding stores nothing.
Detection is written by the system (an audit row without actor); decisions by the API.

`record_anomalies` is idempotent under the spool's at-least-once delivery: an anomaly's
`key` is unique per company, and a replayed one neither inserts nor audits again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from factoryos.audit.writer import AuditEvent, record
from factoryos.db.repository import MAX_LIMIT, Page, decode_cursor, encode_cursor
from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.integrations import facts
from factoryos.integrations.outbox import emit
from factoryos.plant.constraints import constraint_name
from factoryos.plant.machines import Machines
from factoryos.production.anomaly_models import AnomalyOut, AnomalyQuery
from factoryos.production.signals import CountRow, record_counts
from factoryos.schema.production import counter_anomalies as ca
from factoryos.schema.production import machine_count_buckets as mcb

ENTITY = "counter_anomaly"
SIGNALS = ("good", "reject")
_BIGINT = 2**63 - 1
_BUCKET_MAX = 2**31 - 1  # a count bucket's good and reject are int columns


@dataclass(frozen=True)
class AnomalyRow:
    """A counter jump the poller found implausible (not stored as production).

    `delta` is the parts the counter claims, `allowed` the bound it broke (null when the
    bound was a fixed maximum not known to the caller); `key` identifies the jump so a
    replay from the spool stores it once.
    """

    machine_id: UUID
    signal: str
    previous_raw: int | None
    raw: int
    previous_at: datetime | None
    detected_at: datetime
    delta: int
    allowed: int | None
    key: str


def anomaly_out(row: RowMapping) -> AnomalyOut:
    return AnomalyOut.model_validate(dict(row))


def _whole(value: Any, name: str, *, nullable: bool = False, minimum: int = -_BIGINT) -> int | None:
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= _BIGINT:
        raise ValidationFailed(f"{name} must be a whole number", code="invalid_count", field=name)
    return value


def _moment(value: Any, name: str, *, nullable: bool = False) -> datetime | None:
    if value is None and nullable:
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationFailed(f"{name} must be a timezone-aware datetime", code="naive_datetime", field=name)
    return value.astimezone(UTC)


def _values(row: AnomalyRow) -> dict[str, Any]:
    try:
        machine_id = row.machine_id if isinstance(row.machine_id, UUID) else UUID(str(row.machine_id))
    except ValueError:
        raise ValidationFailed(f"machine_id {row.machine_id!r} is not a machine id", code="machine_not_found",
                               field="machine_id") from None
    if row.signal not in SIGNALS:
        raise ValidationFailed("signal must be good or reject", code="invalid_signal", field="signal")
    if not isinstance(row.key, str) or not row.key or len(row.key) > 200:
        raise ValidationFailed("key must be 1–200 characters", code="invalid_key", field="key")
    return {
        "machine_id": machine_id, "signal": row.signal, "key": row.key,
        "previous_raw": _whole(row.previous_raw, "previous_raw", nullable=True), "raw": _whole(row.raw, "raw"),
        "previous_at": _moment(row.previous_at, "previous_at", nullable=True),
        "detected_at": _moment(row.detected_at, "detected_at"),
        "delta": _whole(row.delta, "delta", minimum=0), "allowed": _whole(row.allowed, "allowed", nullable=True),
    }


def record_anomalies(conn: Connection, tenant_id: UUID, rows: Iterable[AnomalyRow]) -> int:
    """Store counter anomalies (pending) with one audit row each; returns how many were new.

    Runs in the caller's tenant transaction. A key stored before is skipped, audit and all.
    Raises `ValidationFailed` (code ``machine_not_found``) when a row names no machine of
    this company; the transaction is then aborted, as with `record_counts`.
    """
    values: dict[str, dict[str, Any]] = {}
    for row in rows:
        checked = _values(row)
        values.setdefault(checked["key"], checked)
    if not values:
        return 0
    stmt = (pg_insert(ca).values([v | {"tenant_id": tenant_id} for v in values.values()])
            .on_conflict_do_nothing(constraint="uq_counter_anomalies_tenant_key").returning(ca))
    try:  # no savepoint: a refused batch fails the caller's transaction (the sink retries per machine)
        added = list(conn.execute(stmt).mappings())
    except IntegrityError as exc:
        if constraint_name(exc) != "fk_counter_anomalies_machine":
            raise
        raise ValidationFailed("an anomaly names a machine that does not exist in this company",
                               code="machine_not_found", field="machine_id") from None
    for stored in sorted(added, key=lambda r: (r["detected_at"], r["key"])):
        record(conn, AuditEvent(tenant_id=tenant_id, action="detect", entity_type=ENTITY, entity_id=str(stored["id"]),
                                after=anomaly_out(stored).model_dump(mode="json")))
    emit(conn, tenant_id, [facts.anomaly_recorded(r["id"], r["machine_id"], r["signal"], r["delta"], r["allowed"],
                                                  r["detected_at"]) for r in added])
    return len(added)


def list_anomalies(conn: Connection, tenant_id: UUID, machine_id: UUID, query: AnomalyQuery) -> Page:
    """A machine's anomalies, newest first (keyset pages on detected_at, id)."""
    Machines(conn, tenant_id).require(machine_id)
    where = [ca.c.tenant_id == tenant_id, ca.c.machine_id == machine_id]
    if query.status is not None:
        where.append(ca.c.status == query.status)
    if query.cursor:
        at, row_id = decode_cursor(query.cursor)
        where.append(or_(ca.c.detected_at < at, and_(ca.c.detected_at == at, ca.c.id < row_id)))
    limit = max(1, min(query.limit, MAX_LIMIT))
    rows = list(conn.execute(select(ca).where(*where).order_by(ca.c.detected_at.desc(), ca.c.id.desc())
                             .limit(limit + 1)).mappings())
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]["detected_at"], rows[-1]["id"]))


def pending_counts(conn: Connection, tenant_id: UUID, machine_ids: list[UUID]) -> dict[UUID, int]:
    """How many anomalies wait for a decision, per machine (machines without any are left out)."""
    if not machine_ids:
        return {}
    rows = conn.execute(
        select(ca.c.machine_id, func.count()).where(ca.c.tenant_id == tenant_id, ca.c.machine_id.in_(machine_ids),
                                                    ca.c.status == "pending")
        .group_by(ca.c.machine_id))
    return {machine_id: count for machine_id, count in rows}


def count_key(anomaly_id: UUID) -> str:
    """The delta key an accepted anomaly's parts are stored under."""
    return f"anomaly|{anomaly_id}"


def decide(
    conn: Connection, tenant_id: UUID, machine_id: UUID, anomaly_id: UUID, decision: Literal["accept", "discard"],
    user_id: UUID | None, now: datetime,
) -> tuple[RowMapping, RowMapping]:
    """Accept (store the parts as production) or discard a pending anomaly; returns (before, after).

    The row is locked first, so two supervisors deciding at once get one decision and one 409.
    """
    Machines(conn, tenant_id).require(machine_id)
    before = conn.execute(
        select(ca).where(ca.c.tenant_id == tenant_id, ca.c.machine_id == machine_id, ca.c.id == anomaly_id)
        .with_for_update()
    ).mappings().first()
    if before is None:
        raise NotFound(f"counter anomaly {anomaly_id} not found on this machine", code="anomaly_not_found")
    if before["status"] != "pending":
        raise Conflict(f"this counter jump was already {before['status']}", code="anomaly_already_decided",
                       field="status", extra={"decided": before["status"]})
    if decision == "accept":
        _store_parts(conn, tenant_id, before)
    status = "accepted" if decision == "accept" else "discarded"
    after = conn.execute(
        update(ca).where(ca.c.tenant_id == tenant_id, ca.c.id == anomaly_id)
        .values(status=status, decided_by=user_id, decided_at=now).returning(ca)
    ).mappings().one()
    return before, after


def _store_parts(conn: Connection, tenant_id: UUID, anomaly: RowMapping) -> None:
    minute = anomaly["detected_at"].astimezone(UTC).replace(second=0, microsecond=0)
    bucket = conn.execute(
        select(mcb.c.good, mcb.c.reject).where(mcb.c.tenant_id == tenant_id, mcb.c.machine_id == anomaly["machine_id"],
                                               mcb.c.minute == minute)
    ).first()
    already = 0 if bucket is None else (bucket.good if anomaly["signal"] == "good" else bucket.reject)
    if anomaly["delta"] > _BUCKET_MAX - already:
        # Only a broken counter claims this much; the database could not hold it in one minute either.
        raise ValidationFailed(f"{anomaly['delta']} parts in one minute cannot be stored: discard this jump and "
                               "enter the real count by hand", code="anomaly_too_large", field="delta")
    good = anomaly["delta"] if anomaly["signal"] == "good" else 0
    record_counts(conn, tenant_id, [CountRow(anomaly["machine_id"], minute, good, anomaly["delta"] - good,
                                             count_key(anomaly["id"]))])
