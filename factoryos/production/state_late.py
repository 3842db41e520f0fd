"""A machine state change older than what is stored, fitted into the stored intervals.

Ingest processes sharing a broker stream may store one machine's changes out of order. The
stored intervals are kept a function of the set of changes received, whatever their order:
an interval starts at the first change of a stretch of one state and raw code, its `seen_at`
holds the later changes of that stretch (the same state reported again), and it ends where the
next stretch starts. A late change at `t`
- at a stored start or reassertion: a duplicate;
- inside an interval of its own state and code: one more reassertion (unchanged);
- inside another interval `[s, e)`: splits it into `[s, t)`, `[t, r)` of the late state and
  `[r, e)` where `r` is the interval's first reassertion after `t`; with none, `[t, e)`, or the
  interval starting at `e` starts at `t` instead when it has the late state and code;
- before the machine's first interval (or in a gap): lasts until the next interval starts, or
  moves that one's start back when it has the same state and code.

Downtime then follows for the stop runs the change touched: each interval of a run reaching the
site's micro-stop threshold has a machine event with its extent (as in-order writes leave it);
the machine events of a run that no longer reaches it are withdrawn unless an operator has
already given a reason. Operator-recorded downtime still wins over a new machine event.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, RowMapping, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from factoryos.integrations import facts
from factoryos.integrations.outbox import emit
from factoryos.kpi import MachineState
from factoryos.plant.constraints import constraint_name
from factoryos.production import signals
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import machine_state_intervals as msi

log = logging.getLogger(__name__)


def fit_late_change(conn: Connection, tenant_id: UUID, machine: RowMapping, state: MachineState,
                    raw_code: int | None, at: datetime) -> signals.StateOutcome:
    """Store a change at or before the machine's latest known instant (machine row locked)."""
    here = conn.execute(
        select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == machine["id"], msi.c.started_at <= at)
        .order_by(msi.c.started_at.desc()).limit(1)
    ).mappings().first()
    if here is not None and (here["ended_at"] is None or at < here["ended_at"]):
        if at == here["started_at"] or at in here["seen_at"]:
            return signals.StateOutcome.DUPLICATE
        if (here["state"], here["raw_code"]) == (state.value, raw_code):
            _set(conn, tenant_id, here["id"], seen_at=sorted([*here["seen_at"], at]))
            return signals.StateOutcome.UNCHANGED
        log.info("machine %s: late state change at %s splits the interval from %s", machine["code"],
                 at.isoformat(), here["started_at"].isoformat())
        _split(conn, tenant_id, machine, here, state, raw_code, at)
        return signals.StateOutcome.OPENED
    later = conn.execute(
        select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == machine["id"], msi.c.started_at > at)
        .order_by(msi.c.started_at).limit(1)
    ).mappings().first()
    if later is None:  # the caller only sends changes that are not after everything stored
        raise AssertionError(f"no interval after the late change at {at.isoformat()}")
    first = _begin(conn, tenant_id, machine, later, state, raw_code, at,
                   previous=here["state"] if here is not None else None)
    _settle(conn, tenant_id, machine, first, first)
    return signals.StateOutcome.OPENED


def _same(row: RowMapping, state: MachineState, raw_code: int | None) -> bool:
    return (row["state"], row["raw_code"]) == (state.value, raw_code)


def _set(conn: Connection, tenant_id: UUID, interval_id: UUID, **values: object) -> RowMapping:
    return conn.execute(
        update(msi).where(msi.c.tenant_id == tenant_id, msi.c.id == interval_id).values(**values).returning(msi)
    ).mappings().one()


def _insert(conn: Connection, tenant_id: UUID, machine_id: UUID, state: str, raw_code: int | None,
            start: datetime, end: datetime | None, seen: list[datetime]) -> RowMapping:
    return conn.execute(
        pg_insert(msi).values(tenant_id=tenant_id, machine_id=machine_id, state=state, raw_code=raw_code,
                              started_at=start, ended_at=end, seen_at=seen).returning(msi)
    ).mappings().one()


def _begin(conn: Connection, tenant_id: UUID, machine: RowMapping, later: RowMapping, state: MachineState,
           raw_code: int | None, at: datetime, previous: str | None) -> RowMapping:
    """The late change's stretch lasts until `later` starts: a new interval, or `later` starting earlier."""
    if _same(later, state, raw_code):
        return _set(conn, tenant_id, later["id"], started_at=at, seen_at=[later["started_at"], *later["seen_at"]])
    row = _insert(conn, tenant_id, machine["id"], state.value, raw_code, at, later["started_at"], [])
    if previous != state.value:
        emit(conn, tenant_id, [facts.state_changed(machine["id"], machine["code"], state.value, previous, raw_code, at)])
    return row


def _split(conn: Connection, tenant_id: UUID, machine: RowMapping, here: RowMapping, state: MachineState,
           raw_code: int | None, at: datetime) -> None:
    # Written in time order: the overlap trigger compares each row with the one before it.
    seen = sorted(here["seen_at"])
    after = [t for t in seen if t > at]
    head = _set(conn, tenant_id, here["id"], ended_at=at, seen_at=[t for t in seen if t < at])
    if not after:
        later = conn.execute(
            select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == machine["id"],
                              msi.c.started_at == here["ended_at"])
        ).mappings().first()
        if later is None:  # a gap after `here` (not written by this module): the late stretch ends with it
            last = _insert(conn, tenant_id, machine["id"], state.value, raw_code, at, here["ended_at"], [])
            emit(conn, tenant_id, [facts.state_changed(machine["id"], machine["code"], state.value, here["state"],
                                                       raw_code, at)])
        else:
            last = _begin(conn, tenant_id, machine, later, state, raw_code, at, previous=here["state"])
        _settle(conn, tenant_id, machine, head, last)
        return
    _insert(conn, tenant_id, machine["id"], state.value, raw_code, at, after[0], [])
    tail = _insert(conn, tenant_id, machine["id"], here["state"], here["raw_code"], after[0], here["ended_at"],
                   after[1:])
    changed = []
    if here["state"] != state.value:
        changed = [facts.state_changed(machine["id"], machine["code"], state.value, here["state"], raw_code, at),
                   facts.state_changed(machine["id"], machine["code"], here["state"], state.value, here["raw_code"],
                                       after[0])]
    emit(conn, tenant_id, changed)
    _settle(conn, tenant_id, machine, head, tail)


def _run_after(conn: Connection, tenant_id: UUID, last: RowMapping) -> list[RowMapping]:
    """The contiguous stop intervals following `last` (a stop), oldest first."""
    run: list[RowMapping] = []
    current = last
    page = signals._RUN_FIRST_PAGE
    while len(run) < signals._RUN_LOOKBACK and current["ended_at"] is not None:
        later = conn.execute(
            select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == last["machine_id"],
                              msi.c.started_at > current["started_at"])
            .order_by(msi.c.started_at).limit(min(page, signals._RUN_LOOKBACK - len(run)))
        ).mappings().all()
        for row in later:
            if row["started_at"] != current["ended_at"] or MachineState(row["state"]) not in signals.STOP_STATES:
                return run
            run.append(row)
            current = row
        if len(later) < page:
            break
        page *= 4
    return run


def _settle(conn: Connection, tenant_id: UUID, machine: RowMapping, first: RowMapping, last: RowMapping) -> None:
    """Bring the downtime of every stop run from the one holding `first` to the one holding `last`
    (both included, `first` not after `last`) to what in-order writes leave."""
    window = signals._stop_run(conn, tenant_id, first) if _is_stop(first) else [first]
    window += conn.execute(
        select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == machine["id"],
                          msi.c.started_at > first["started_at"], msi.c.started_at <= last["started_at"])
        .order_by(msi.c.started_at)
    ).mappings().all()
    if not _is_stop(window[-1]) and window[-1]["ended_at"] is not None:
        # The stop run right after a changed interval may have lost (or gained) what came before it.
        window += conn.execute(
            select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == machine["id"],
                              msi.c.started_at == window[-1]["ended_at"])
        ).mappings().all()
    if _is_stop(window[-1]):
        window += _run_after(conn, tenant_id, window[-1])
    run: list[RowMapping] = []
    for interval in window:
        if run and (not _is_stop(interval) or run[-1]["ended_at"] != interval["started_at"]):
            _settle_run(conn, tenant_id, machine, run)
            run = []
        if _is_stop(interval):
            run.append(interval)
    if run:
        _settle_run(conn, tenant_id, machine, run)


def _is_stop(interval: RowMapping) -> bool:
    return MachineState(interval["state"]) in signals.STOP_STATES


def _settle_run(conn: Connection, tenant_id: UUID, machine: RowMapping, run: list[RowMapping]) -> None:
    last = run[-1]
    end = last["ended_at"] or last["started_at"]  # an open run counts up to its last start, as when it opened
    reaches = end - run[0]["started_at"] >= timedelta(seconds=machine["micro_stop_seconds"])
    linked = {
        r["state_interval_id"]: r
        for r in conn.execute(
            select(de).where(de.c.tenant_id == tenant_id, de.c.state_interval_id.in_([i["id"] for i in run]))
        ).mappings()
    }
    for interval in run:
        event = linked.get(interval["id"])
        if event is None:
            if reaches:
                signals._open_machine_event(conn, tenant_id, machine, interval)
        elif not reaches and event["reason_id"] is None and event["needs_reason"]:
            # Shorter than the threshold after all: in order it would never have been asked about. (A stop
            # still going on that is overdue by the clock gets its event back from the next sweep.)
            conn.execute(delete(de).where(de.c.tenant_id == tenant_id, de.c.id == event["id"]))
            log.info("machine %s: stop at %s is below the micro-stop threshold after a late change",
                     machine["code"], interval["started_at"])
        elif (event["started_at"], event["ended_at"]) != (interval["started_at"], interval["ended_at"]):
            _follow(conn, tenant_id, machine, event, interval)


def _follow(conn: Connection, tenant_id: UUID, machine: RowMapping, event: RowMapping, interval: RowMapping) -> None:
    """The machine event takes its interval's new extent."""
    try:
        with conn.begin_nested():
            conn.execute(
                update(de).where(de.c.tenant_id == tenant_id, de.c.id == event["id"])
                .values(started_at=interval["started_at"], ended_at=interval["ended_at"], updated_at=func.now())
            )
    except IntegrityError as exc:
        # Moved back onto an operator's recorded downtime: that record explains the overlap.
        if constraint_name(exc) != "downtime_events_no_overlap":
            raise
        log.info("machine %s: stop at %s now meets recorded downtime", machine["code"], interval["started_at"])
        return
    if event["ended_at"] is None and interval["ended_at"] is not None:
        emit(conn, tenant_id, [facts.downtime_ended(interval["machine_id"], interval["started_at"],
                                                    interval["ended_at"], interval["id"])])
