"""Machine signals: per-minute count buckets and state intervals, written by the poller's sink.

Both writers are idempotent under the at-least-once delivery of the connectivity spool:
- counts arrive as deltas with a unique key; a bucket remembers the keys it has added, so
  a replayed delta is not added twice. One row per machine and UTC minute.
- a state change closes the machine's open interval and opens the next; the same state and
  raw code again is remembered in the open interval's `seen_at`; a replayed change is a
  duplicate. A change older than the machine's latest known instant (two ingest processes
  share a broker stream) is fitted into the stored intervals by `state_late`, so the stored
  intervals are the same whatever order a set of changes arrives in.

An unplanned stop (unplanned_stop, idle or offline, as the KPI engine counts them) that
lasts at least the site's micro-stop threshold opens a machine downtime event that waits
for an operator's reason. `no_data` (the poller could not read the machine) is not a stop:
it opens no downtime, asks for no reason and ends a stop run. `offline` is what pollers
wrote for that before `no_data` existed; stored rows keep their meaning (a stop). Contiguous stop intervals form one stop (as in the engine), and
each interval of a long stop gets its own event: two fault codes are two reasons to give.
The run is checked when an interval closes, when the next one opens and by the periodic
`flag_overdue_stops` sweep (for a stop still going on).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from factoryos.errors import ValidationFailed
from factoryos.integrations import facts
from factoryos.integrations.outbox import emit
from factoryos.kpi import MachineState
from factoryos.plant.constraints import constraint_name
from factoryos.production import state_late
from factoryos.schema.plant import machines, sites
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import machine_state_intervals as msi

log = logging.getLogger(__name__)

# Not NO_DATA: an unreadable machine is not known to be stopped.
STOP_STATES = frozenset({MachineState.UNPLANNED_STOP, MachineState.IDLE, MachineState.OFFLINE})
_RUN_LOOKBACK = 500  # intervals walked back to find where a stop began
_RUN_FIRST_PAGE = 4

# Run with `exec_driver_sql`: psycopg sends `%(name)b` parameters in binary, which for arrays
# of 500 uuids and timestamps costs a fifth of the CPU of their text form.
_UPSERT_COUNTS = """
    insert into machine_count_buckets as b (tenant_id, machine_id, minute, good, reject, delta_keys)
    select %(tenant)b, u.machine_id, u.minute, u.good, u.reject, array[u.key]
    from unnest(cast(%(machines)b as uuid[]), cast(%(minutes)b as timestamptz[]), cast(%(goods)b as int[]),
                cast(%(rejects)b as int[]), cast(%(keys)b as text[])) as u(machine_id, minute, good, reject, key)
    on conflict (tenant_id, machine_id, minute) do update
      set good = b.good + excluded.good,
          reject = b.reject + excluded.reject,
          delta_keys = b.delta_keys || excluded.delta_keys,
          updated_at = now()
      where not (b.delta_keys @> excluded.delta_keys)
    returning 1
"""


@dataclass(frozen=True)
class CountRow:
    """Parts one machine made in one UTC minute (a delta; several may share a minute).

    `key` identifies the delta: delivering the same key again adds nothing.
    """

    machine_id: UUID | str
    minute: datetime
    good: int
    reject: int
    key: str


class StateOutcome(StrEnum):
    OPENED = "opened"          # a new interval started
    UNCHANGED = "unchanged"    # same state and raw code as the open interval
    DUPLICATE = "duplicate"    # this change was stored before
    STALE = "stale"            # no longer given: older changes are fitted in (`state_late`)


def _aware(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationFailed(f"{field} must be a timezone-aware datetime", code="naive_datetime", field=field)
    return value.astimezone(UTC)


def _checked(row: CountRow) -> tuple[UUID, datetime, int, int, str]:
    minute = _aware(row.minute, "minute").replace(second=0, microsecond=0)
    for name in ("good", "reject"):
        value = getattr(row, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > 2**31 - 1:
            raise ValidationFailed(f"{name} must be a whole number >= 0", code="invalid_count", field=name)
    if not row.key or len(row.key) > 200:
        raise ValidationFailed("key must be 1–200 characters", code="invalid_key", field="key")
    return _machine_uuid(row.machine_id), minute, row.good, row.reject, row.key


def _machine_uuid(value: UUID | str) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise ValidationFailed(f"machine_id {value!r} is not a machine id", code="machine_not_found",
                               field="machine_id") from None


def record_counts(conn: Connection, tenant_id: UUID, rows: Iterable[CountRow]) -> int:
    """Add count deltas to the per-minute buckets; returns how many deltas were new.

    One `insert … select from unnest(…)` per round (COPY is refused on RLS tables); a batch
    holding several deltas for one minute needs one round per delta of that minute, since
    a single upsert may not touch a row twice. Raises `ValidationFailed` (code
    ``machine_not_found``) when a row names no machine of this tenant; the transaction is
    then aborted and must be rolled back (or the savepoint around the call).
    """
    seen: set[str] = set()
    rounds: list[list[tuple[UUID, datetime, int, int, str]]] = []
    depth: dict[tuple[UUID, datetime], int] = defaultdict(int)
    for raw in rows:
        row = _checked(raw)
        if row[4] in seen:
            continue
        seen.add(row[4])
        slot = depth[(row[0], row[1])]
        depth[(row[0], row[1])] += 1
        if slot == len(rounds):
            rounds.append([])
        rounds[slot].append(row)
    added = 0
    for batch in rounds:
        machine_ids, minutes, goods, rejects, keys = (list(col) for col in zip(*batch, strict=True))
        try:  # no savepoint: a refused batch fails the caller's transaction (the sink retries per machine)
            result = conn.exec_driver_sql(_UPSERT_COUNTS, {"tenant": tenant_id, "machines": machine_ids,
                                                           "minutes": minutes, "goods": goods, "rejects": rejects,
                                                           "keys": keys})
        except IntegrityError as exc:
            if constraint_name(exc) != "fk_machine_count_buckets_machine":
                raise
            raise ValidationFailed("a count names a machine that does not exist in this company",
                                   code="machine_not_found", field="machine_id") from None
        added += len(result.all())
    return added


def _machine_with_site(conn: Connection, tenant_id: UUID, machine_id: UUID) -> RowMapping:
    row = conn.execute(
        select(machines.c.id, machines.c.code, sites.c.micro_stop_seconds)
        .join(sites, (sites.c.tenant_id == machines.c.tenant_id) & (sites.c.id == machines.c.site_id))
        .where(machines.c.tenant_id == tenant_id, machines.c.id == machine_id)
        # `for no key update`: serialises state writers per machine (two ingest processes may hold
        # changes of one machine) without blocking the `key share` of foreign-key checks.
        .with_for_update(of=machines, key_share=True)
    ).mappings().first()
    if row is None:
        raise ValidationFailed(f"machine {machine_id} not found", code="machine_not_found", field="machine_id")
    return row


def record_state_change(
    conn: Connection,
    tenant_id: UUID,
    machine_id: UUID | str,
    state: MachineState | str,
    raw_code: int | None,
    at: datetime,
) -> StateOutcome:
    """The machine entered `state` (from PLC code `raw_code`) at `at`.

    Closes the open interval at `at` and opens the next; a stop that has reached the
    site's micro-stop threshold gets its machine downtime event(s), needing a reason.
    """
    try:
        state = MachineState(state)
    except ValueError:
        raise ValidationFailed(f"unknown machine state {state!r}", code="invalid_state", field="state") from None
    at = _aware(at, "at")
    machine_uuid = _machine_uuid(machine_id)
    machine = _machine_with_site(conn, tenant_id, machine_uuid)
    latest = conn.execute(
        select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == machine_uuid)
        .order_by(msi.c.started_at.desc()).limit(1)
    ).mappings().first()
    if latest is not None:
        if at <= last_known(latest["started_at"], latest["seen_at"]) or (
                latest["ended_at"] is not None and at < latest["ended_at"]):
            return state_late.fit_late_change(conn, tenant_id, machine, state, raw_code, at)
        if latest["ended_at"] is None:
            if latest["state"] == state and latest["raw_code"] == raw_code:
                conn.execute(update(msi).where(msi.c.tenant_id == tenant_id, msi.c.id == latest["id"])
                             .values(seen_at=func.array_append(msi.c.seen_at, at)))
                return StateOutcome.UNCHANGED
            closed = conn.execute(
                update(msi).where(msi.c.tenant_id == tenant_id, msi.c.id == latest["id"])
                .values(ended_at=at).returning(msi)
            ).mappings().one()
            _flag_run(conn, tenant_id, machine, closed, at)
    opened = conn.execute(
        pg_insert(msi).values(tenant_id=tenant_id, machine_id=machine_uuid, state=state.value, raw_code=raw_code,
                              started_at=at).returning(msi)
    ).mappings().one()
    # A stop that starts now after a non-stop has lasted 0 s: below any threshold but zero, no need to look.
    if (latest is not None and MachineState(latest["state"]) in STOP_STATES) or machine["micro_stop_seconds"] == 0:
        _flag_run(conn, tenant_id, machine, opened, at)
    previous = latest["state"] if latest is not None else None
    if previous != state.value:
        emit(conn, tenant_id, [facts.state_changed(machine_uuid, machine["code"], state.value, previous, raw_code, at)])
    return StateOutcome.OPENED


def flag_overdue_stops(conn: Connection, tenant_id: UUID, now: datetime) -> int:
    """Open downtime events for stops still going on that have reached the threshold.

    Call periodically (the poller does it every few seconds); returns events opened.
    """
    now = _aware(now, "now")
    open_stops = conn.execute(
        select(msi).where(msi.c.tenant_id == tenant_id, msi.c.ended_at.is_(None),
                          msi.c.state.in_([s.value for s in STOP_STATES]), msi.c.started_at <= now)
        .order_by(msi.c.machine_id)  # machines locked in id order, as the batch writer locks them
    ).mappings().all()
    opened = 0
    for interval in open_stops:
        machine = _machine_with_site(conn, tenant_id, interval["machine_id"])
        opened += _flag_run(conn, tenant_id, machine, interval, now)
    return opened


def last_known(started_at: datetime, seen_at: Iterable[datetime]) -> datetime:
    """The latest change an interval holds: its start or its last reassertion."""
    return max([started_at, *seen_at])


def _stop_run(conn: Connection, tenant_id: UUID, last: RowMapping) -> list[RowMapping]:
    """The contiguous stop intervals ending with `last`, oldest first.

    Read back in growing pages: most stops follow a running interval, so the first row
    settles it, and a machine's long history is not fetched on every state change.
    """
    run = [last]
    page = _RUN_FIRST_PAGE
    while len(run) <= _RUN_LOOKBACK:
        earlier = conn.execute(
            select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == last["machine_id"],
                              msi.c.started_at < run[-1]["started_at"])
            .order_by(msi.c.started_at.desc()).limit(min(page, _RUN_LOOKBACK + 1 - len(run)))
        ).mappings().all()
        for row in earlier:
            if row["ended_at"] != run[-1]["started_at"] or MachineState(row["state"]) not in STOP_STATES:
                return run[::-1]
            run.append(row)
        if len(earlier) < page:
            break
        page *= 4
    return run[::-1]


def _flag_run(conn: Connection, tenant_id: UUID, machine: RowMapping, last: RowMapping, now: datetime) -> int:
    if MachineState(last["state"]) not in STOP_STATES:
        return 0
    run = _stop_run(conn, tenant_id, last)
    end = last["ended_at"] or now
    if end - run[0]["started_at"] < timedelta(seconds=machine["micro_stop_seconds"]):
        return 0
    linked = {
        r["state_interval_id"]: r
        for r in conn.execute(
            select(de).where(de.c.tenant_id == tenant_id, de.c.state_interval_id.in_([i["id"] for i in run]))
        ).mappings()
    }
    opened = 0
    for interval in run:
        event = linked.get(interval["id"])
        if event is None:
            opened += _open_machine_event(conn, tenant_id, machine, interval)
        elif event["ended_at"] is None and interval["ended_at"] is not None:
            conn.execute(
                update(de).where(de.c.tenant_id == tenant_id, de.c.id == event["id"])
                .values(ended_at=interval["ended_at"], updated_at=now)
            )
            emit(conn, tenant_id, [facts.downtime_ended(interval["machine_id"], interval["started_at"],
                                                        interval["ended_at"], interval["id"])])
    return opened


def _open_machine_event(conn: Connection, tenant_id: UUID, machine: RowMapping, interval: RowMapping) -> int:
    try:
        with conn.begin_nested():
            conn.execute(
                pg_insert(de).values(
                    tenant_id=tenant_id, machine_id=interval["machine_id"], started_at=interval["started_at"],
                    ended_at=interval["ended_at"], planned=False, source="machine", needs_reason=True,
                    state_interval_id=interval["id"],
                )
            )
        emit(conn, tenant_id, facts.downtime_opened(interval["machine_id"], interval["started_at"],
                                                    interval["ended_at"], interval["id"]))
        return 1
    except IntegrityError as exc:
        # An operator already recorded downtime over this stop: that record explains it.
        if constraint_name(exc) != "downtime_events_no_overlap":
            raise
        log.info("machine %s: stop at %s is covered by recorded downtime", machine["code"], interval["started_at"])
        return 0
