"""A batch of machine state changes in two round trips, whatever its size.

`record_state_changes` gives what `record_state_change` gives event by event (the same
intervals, downtime events and outcomes) but reads and writes set-wise: lock the batch's
machines, then read each one's latest interval (a lateral step per machine) and, for a stop, the
stop run it ends (each interval with its downtime event), in one round trip; replay the events in
Python; then close, insert and flag with one `… from unnest` each, all in a second (`run_batch`:
statements queued and sent together). A batch that names older stored starts (replays) reads
those in a round trip of their own. Events of one machine are applied in batch order; machines
do not affect each other. Webhook facts are built only for the event types some enabled
endpoint subscribes to (read with the lock).

The replay keeps the per-event rules: a replay of a stored change is a duplicate, the same
state and code is unchanged (remembered in the interval's `seen_at`), a stop run reaching the
site's micro-stop threshold gets one downtime event per interval (`no_data` is no stop: it
gets none and ends a run), and a stop covered by an operator's downtime gets none. An interval
opened and closed in the same batch is inserted closed, and an event is inserted with the
extent it ends the batch with: what the per-event path reaches through its later updates.

A machine with a late change in the batch (older than its latest known instant, and not a
replay) is rare; its changes all go through `record_state_change`, event by event, which fits
them into the stored intervals (`state_late`).
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection

from factoryos import collector
from factoryos.db.driver import run_batch
from factoryos.errors import ValidationFailed
from factoryos.integrations import facts
from factoryos.integrations.outbox import SUBSCRIBED_TYPES, Fact, emit
from factoryos.kpi import MachineState
from factoryos.production.signals import (
    _RUN_LOOKBACK,
    STOP_STATES,
    StateOutcome,
    _aware,
    _machine_uuid,
    last_known,
    record_state_change,
)

log = logging.getLogger(__name__)

_STOPS = sorted(s.value for s in STOP_STATES)


@dataclass(frozen=True)
class StateRow:
    """The machine entered `state` (from PLC code `raw_code`) at `at`."""

    machine_id: UUID | str
    state: MachineState | str
    raw_code: int | None
    at: datetime


@dataclass(slots=True)
class _Interval:
    id: UUID
    state: MachineState
    raw_code: int | None
    started_at: datetime
    ended_at: datetime | None
    stored: bool  # in the database before this batch
    closed_now: bool = False  # a stored open interval this batch closes
    seen: list[datetime] = field(default_factory=list)  # reassertions stored (of the latest interval only)
    seen_now: list[datetime] = field(default_factory=list)  # reassertions this batch adds


@dataclass(slots=True)
class _Event:
    interval_id: UUID
    machine_id: UUID
    started_at: datetime
    ended_at: datetime | None
    stored_id: UUID | None = None  # an event in the database before this batch
    closed_at: datetime | None = None  # the change that closed it (its updated_at)


@dataclass(slots=True)
class _Machine:
    id: UUID
    code: str
    threshold: timedelta
    history: list[_Interval] = field(default_factory=list)  # oldest first: stored stop run, then new
    starts: set[datetime] = field(default_factory=set)  # changes known to be stored (probed, and new)
    clock: datetime | None = None  # the latest change stored or applied

    @property
    def latest(self) -> _Interval | None:
        return self.history[-1] if self.history else None


_PARAM = re.compile(r"(?<![:\w]):([a-z_]+)")


def _sql(statement: str) -> str:
    """`:name` parameters as psycopg's `%(name)b`: sent in binary (arrays of 500 timestamps or
    uuids cost a fifth of the CPU of their text form). Run with `conn.exec_driver_sql`."""
    return _PARAM.sub(r"%(\1)b", statement)


_LOCK_MACHINES = _sql("""
    select m.id, m.code, s.micro_stop_seconds, """ + SUBSCRIBED_TYPES + """ as subscribed
    from machines m join sites s on s.tenant_id = m.tenant_id and s.id = m.site_id
    where m.tenant_id = :tenant and m.id = any(cast(:ids as uuid[]))
    order by m.id
    for no key update of m  -- as `record_state_change`: one state writer per machine at a time
""")
# Each machine's latest interval (one backward index step per machine: a `distinct on` would read
# every interval of them) at depth 1 and, when it is a stop, the contiguous stop intervals before it,
# newest first, as `_stop_run` walks them; each stop with its downtime event if it has one. `limit 1`
# (an interval has at most one event) keeps each lateral a lookup by key: flattened into a join, the
# planner (stale statistics, RLS quals) scanned the company's every interval once per batch.
_HISTORY = _sql("""
    with recursive run as (
      select l.id, l.machine_id, l.state, l.raw_code, l.started_at, l.ended_at, l.seen_at, 1 as depth
      from unnest(cast(:ids as uuid[])) as m(id)
      cross join lateral (
        select i.id, i.machine_id, i.state, i.raw_code, i.started_at, i.ended_at, i.seen_at
        from machine_state_intervals i
        where i.tenant_id = :tenant and i.machine_id = m.id
        order by i.started_at desc limit 1) l
      union all
      select p.id, p.machine_id, p.state, p.raw_code, p.started_at, p.ended_at, cast('{}' as timestamptz[]),
             r.depth + 1
      from run r
      cross join lateral (
        select e.id, e.machine_id, e.state, e.raw_code, e.started_at, e.ended_at
        from machine_state_intervals e
        where e.tenant_id = :tenant and e.machine_id = r.machine_id and e.started_at < r.started_at
        order by e.started_at desc limit 1) p
      where r.state = any(cast(:stops as text[])) and r.depth <= :lookback and p.ended_at = r.started_at
        and p.state = any(cast(:stops as text[]))
    )
    select r.id, r.machine_id, r.state, r.raw_code, r.started_at, r.ended_at, r.seen_at, r.depth,
           d.id as event_id, d.ended_at as event_ended_at
    from run r
    left join lateral (select d.id, d.ended_at from downtime_events d
                       where r.state = any(cast(:stops as text[]))
                         and d.tenant_id = :tenant and d.state_interval_id = r.id limit 1) d on true
""")
# Stored intervals starting exactly at an event's instant (a replay of an older change).
_STARTS = _sql("""
    select i.machine_id, i.started_at
    from unnest(cast(:machines as uuid[]), cast(:ats as timestamptz[])) as u(machine_id, started_at)
    join machine_state_intervals i
      on i.tenant_id = :tenant and i.machine_id = u.machine_id and i.started_at = u.started_at
""")
# Reassertions of the same state, appended in time order (all later than what the interval holds).
_ADD_SEEN = _sql("""
    update machine_state_intervals i set seen_at = i.seen_at || g.ats
    from (select u.id, array_agg(u.at order by u.at) as ats
          from unnest(cast(:ids as uuid[]), cast(:ats as timestamptz[])) as u(id, at) group by u.id) g
    where i.tenant_id = :tenant and i.id = g.id
""")
# By machine among the open intervals: their partial index holds one row per machine, so the
# plan stays an index lookup however stale the table's statistics are.
_CLOSE_INTERVALS = _sql("""
    update machine_state_intervals i set ended_at = u.ended_at
    from unnest(cast(:machines as uuid[]), cast(:ids as uuid[]), cast(:ends as timestamptz[]))
         as u(machine_id, id, ended_at)
    where i.tenant_id = :tenant and i.machine_id = u.machine_id and i.ended_at is null and i.id = u.id
""")
_INSERT_INTERVALS = _sql("""
    insert into machine_state_intervals (id, tenant_id, machine_id, state, raw_code, started_at, ended_at)
    select u.id, :tenant, u.machine_id, u.state, u.raw_code, u.started_at, u.ended_at
    from unnest(cast(:ids as uuid[]), cast(:machines as uuid[]), cast(:states as text[]),
                cast(:codes as bigint[]), cast(:starts as timestamptz[]), cast(:ends as timestamptz[]))
         as u(id, machine_id, state, raw_code, started_at, ended_at)
""")
# Found by (machine, start), the leading columns of an index, for the same reason.
_CLOSE_EVENTS = _sql("""
    update downtime_events d set ended_at = u.ended_at, updated_at = u.updated_at
    from unnest(cast(:machines as uuid[]), cast(:starts as timestamptz[]), cast(:ids as uuid[]),
                cast(:ends as timestamptz[]), cast(:updated as timestamptz[]))
         as u(machine_id, started_at, id, ended_at, updated_at)
    where d.tenant_id = :tenant and d.machine_id = u.machine_id and d.started_at = u.started_at and d.id = u.id
""")
# New machine downtime, except where recorded downtime already covers part of it (the
# operator's record explains that stop). Downtime of a machine never overlaps, so only the
# event starting last before the new one ends can reach into it.
_INSERT_EVENTS = _sql("""
    insert into downtime_events (tenant_id, machine_id, started_at, ended_at, planned, source, needs_reason,
                                 state_interval_id, updated_at)
    select :tenant, u.machine_id, u.started_at, u.ended_at, false, 'machine', true, u.interval_id,
           coalesce(u.updated_at, now())
    from unnest(cast(:machines as uuid[]), cast(:starts as timestamptz[]), cast(:ends as timestamptz[]),
                cast(:intervals as uuid[]), cast(:updated as timestamptz[]))
         as u(machine_id, started_at, ended_at, interval_id, updated_at)
    where not exists (
      select 1 from (
        select d.ended_at from downtime_events d
        where d.tenant_id = :tenant and d.machine_id = u.machine_id
          and (u.ended_at is null or d.started_at < u.ended_at)
        order by d.started_at desc limit 1) last
      where coalesce(last.ended_at, 'infinity') > u.started_at)
    returning state_interval_id
""")


# By value (a StrEnum member is equal to its value, so members look up too): cheaper than calling the enum.
_STATE_OF = {s.value: s for s in MachineState}


def _parse(row: StateRow) -> tuple[UUID, MachineState, int | None, datetime]:
    state = _STATE_OF.get(row.state)
    if state is None:
        raise ValidationFailed(f"unknown machine state {row.state!r}", code="invalid_state", field="state")
    at = row.at
    if not (isinstance(at, datetime) and at.tzinfo is UTC):  # what the sinks pass; anything else is checked
        at = _aware(at, "at")
    machine = row.machine_id
    return machine if type(machine) is UUID else _machine_uuid(machine), state, row.raw_code, at


def record_state_changes(conn: Connection, tenant_id: UUID, changes: Iterable[StateRow]) -> list[StateOutcome]:
    """Apply `changes` in order; returns each one's outcome. Raises `ValidationFailed` (before
    writing anything) for an unknown state, a naive instant or a machine not of this tenant."""
    with collector.paused():  # a batch's thousands of short-lived rows, intervals and ids
        return _record(conn, tenant_id, changes)


def _record(conn: Connection, tenant_id: UUID, changes: Iterable[StateRow]) -> list[StateOutcome]:
    events = [_parse(c) for c in changes]
    if not events:
        return []
    machines, subscribed, links = _read(conn, tenant_id, events)
    late = _late_machines(machines, events)
    for machine_id in late:
        del machines[machine_id]
    outcomes: list[StateOutcome | None] = []
    new_events: dict[UUID, _Event] = {}
    for machine_id, state, raw_code, at in events:
        m = machines.get(machine_id)
        outcomes.append(None if m is None else _apply(m, links, new_events, state, raw_code, at))
    _write(conn, tenant_id, machines, links, new_events, subscribed)
    for n, (machine_id, state, raw_code, at) in enumerate(events):
        if machine_id in late:
            outcomes[n] = record_state_change(conn, tenant_id, machine_id, state, raw_code, at)
    return [o for o in outcomes if o is not None]


def _late_machines(machines: dict[UUID, _Machine], events: Sequence[tuple]) -> set[UUID]:
    """Machines with a change in the batch that is neither after all they know nor a replay."""
    late: set[UUID] = set()
    clocks = {m.id: m.clock for m in machines.values()}
    ends = {m.id: m.latest.ended_at for m in machines.values() if m.latest is not None}
    applied: dict[UUID, set[datetime]] = defaultdict(set)
    for machine_id, _state, _code, at in events:
        clock, end = clocks[machine_id], ends.get(machine_id)
        if clock is None or (at > clock and (end is None or at >= end)):
            clocks[machine_id], ends[machine_id] = at, None
            applied[machine_id].add(at)
        elif at not in machines[machine_id].starts and at not in applied[machine_id]:
            late.add(machine_id)
    return late


def _read(conn: Connection, tenant_id: UUID, events: Sequence[tuple]
          ) -> tuple[dict[UUID, _Machine], frozenset[str], dict[UUID, _Event]]:
    """The batch's machines, locked, each with its latest interval and the stored stop run that one
    ends (`history`, oldest first), read once the lock is held, in one round trip; the webhook event
    types the company's endpoints subscribe to; and the stored downtime events of those stop runs,
    by interval. Which older stored starts the batch's events name (replays) costs a second round
    trip, only for a batch that has such events."""
    ids = sorted({e[0] for e in events})
    rows, runs = run_batch(conn, [
        (_LOCK_MACHINES, {"tenant": tenant_id, "ids": ids}),
        (_HISTORY, {"tenant": tenant_id, "ids": ids, "stops": _STOPS, "lookback": _RUN_LOOKBACK})])
    machines = {r["id"]: _Machine(r["id"], r["code"], timedelta(seconds=r["micro_stop_seconds"])) for r in rows}
    subscribed = frozenset(rows[0]["subscribed"]) if rows else frozenset()
    if len(machines) < len(ids):
        missing = next(e[0] for e in events if e[0] not in machines)
        raise ValidationFailed(f"machine {missing} not found", code="machine_not_found", field="machine_id")
    links: dict[UUID, _Event] = {}
    for r in runs:
        interval = _interval(r)
        m = machines[r["machine_id"]]
        m.history.append(interval)
        m.starts.add(interval.started_at)
        if r["depth"] == 1:
            m.starts.update(interval.seen)
            m.clock = last_known(interval.started_at, interval.seen)
        if r["event_id"] is not None:
            links[r["id"]] = _Event(r["id"], r["machine_id"], r["started_at"], r["event_ended_at"],
                                    stored_id=r["event_id"])
    for m in machines.values():
        if len(m.history) > 1:
            m.history.sort(key=_start)
    latest = {m.id: m.history[-1].started_at for m in machines.values() if m.history}
    probe = [(e[0], e[3]) for e in events if e[0] in latest and e[3] < latest[e[0]]]
    if probe:
        for r in run_batch(conn, [(_STARTS, {"tenant": tenant_id, "machines": [p[0] for p in probe],
                                            "ats": [p[1] for p in probe]})])[0]:
            machines[r["machine_id"]].starts.add(r["started_at"])
    return machines, subscribed, links


def _start(i: _Interval) -> datetime:
    return i.started_at


def _interval(r: dict[str, Any]) -> _Interval:
    return _Interval(r["id"], _STATE_OF[r["state"]], r["raw_code"], r["started_at"], r["ended_at"], stored=True,
                     seen=r["seen_at"] or [])


def _new_id() -> UUID:
    """A random (version 4) id, as `uuid.uuid4` makes it, from a pool read in one system call
    (a batch makes hundreds); its version and variant bits set on the integer (what `UUID(version=4)`
    does, in fewer steps). Pops are atomic; a process forked with a pool starts without it."""
    while True:
        try:
            return UUID(int=(_ID_POOL.pop() & _V4_KEEP) | _V4_SET)
        except IndexError:
            pool = os.urandom(16 * 512)
            _ID_POOL.extend(int.from_bytes(pool[i:i + 16]) for i in range(0, len(pool), 16))


_V4_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V4_SET = (4 << 76) | (0x8000 << 48)
_ID_POOL: list[int] = []
os.register_at_fork(after_in_child=_ID_POOL.clear)


def _apply(m: _Machine, links: dict[UUID, _Event], new_events: dict[UUID, _Event], state: MachineState,
           raw_code: int | None, at: datetime) -> StateOutcome:
    latest = m.latest
    if latest is not None:
        assert m.clock is not None
        if at <= m.clock or (latest.ended_at is not None and at < latest.ended_at):
            return StateOutcome.DUPLICATE  # late changes that are not replays went event by event
        m.clock = at
        if latest.ended_at is None:
            if latest.state == state and latest.raw_code == raw_code:
                latest.seen_now.append(at)
                return StateOutcome.UNCHANGED
            latest.ended_at = at
            latest.closed_now = latest.stored
            if latest.state in STOP_STATES:
                _flag_run(m, links, new_events, len(m.history) - 1, at)
    m.history.append(_Interval(_new_id(), state, raw_code, at, None, stored=False))
    m.clock = at
    if state in STOP_STATES and ((latest is not None and latest.state in STOP_STATES) or not m.threshold):
        _flag_run(m, links, new_events, len(m.history) - 1, at)
    return StateOutcome.OPENED


def _flag_run(m: _Machine, links: dict[UUID, _Event], new_events: dict[UUID, _Event], last: int,
              now: datetime) -> None:
    """`signals._flag_run` on the replayed history: the stop run ending at `history[last]`."""
    interval = m.history[last]
    if interval.state not in STOP_STATES:
        return
    first = last
    while last - first < _RUN_LOOKBACK and first > 0:
        before, after = m.history[first - 1], m.history[first]
        if before.ended_at != after.started_at or before.state not in STOP_STATES:
            break
        first -= 1
    end = interval.ended_at or now
    if end - m.history[first].started_at < m.threshold:
        return
    for member in m.history[first:last + 1]:
        event = links.get(member.id) or new_events.get(member.id)
        if event is None:
            new_events[member.id] = _Event(member.id, m.id, member.started_at, member.ended_at)
        elif event.ended_at is None and member.ended_at is not None:
            event.ended_at, event.closed_at = member.ended_at, now


def _write(conn: Connection, tenant_id: UUID, machines: dict[UUID, _Machine], links: dict[UUID, _Event],
           new_events: dict[UUID, _Event], subscribed: frozenset[str]) -> None:
    """Every write of the batch in one round trip, in this order."""
    statements: list[tuple[str, dict[str, Any]]] = []
    closes = [(m.id, i) for m in machines.values() for i in m.history if i.closed_now]
    if closes:  # first: a machine's next interval may only open once its open one is closed
        statements.append((_CLOSE_INTERVALS, {"tenant": tenant_id, "machines": [m for m, _ in closes],
                                              "ids": [i.id for _, i in closes],
                                              "ends": [i.ended_at for _, i in closes]}))
    fresh = [(m.id, i) for m in machines.values() for i in m.history if not i.stored]
    if fresh:
        statements.append((_INSERT_INTERVALS, {
            "tenant": tenant_id, "ids": [i.id for _, i in fresh], "machines": [m for m, _ in fresh],
            "states": [i.state.value for _, i in fresh], "codes": [i.raw_code for _, i in fresh],
            "starts": [i.started_at for _, i in fresh], "ends": [i.ended_at for _, i in fresh]}))
    seen = [(i.id, at) for m in machines.values() for i in m.history for at in i.seen_now]
    if seen:
        statements.append((_ADD_SEEN, {"tenant": tenant_id, "ids": [i for i, _ in seen],
                                       "ats": [at for _, at in seen]}))
    ended = [e for e in links.values() if e.closed_at is not None]
    if ended:
        statements.append((_CLOSE_EVENTS, {"tenant": tenant_id, "machines": [e.machine_id for e in ended],
                                           "starts": [e.started_at for e in ended],
                                           "ids": [e.stored_id for e in ended],
                                           "ends": [e.ended_at for e in ended],
                                           "updated": [e.closed_at for e in ended]}))
    opened = list(new_events.values())
    if opened:
        statements.append((_INSERT_EVENTS, {
            "tenant": tenant_id, "machines": [e.machine_id for e in opened], "starts": [e.started_at for e in opened],
            "ends": [e.ended_at for e in opened], "intervals": [e.interval_id for e in opened],
            "updated": [e.closed_at for e in opened]}))
    answers = run_batch(conn, statements) if statements else []
    made = {r["state_interval_id"] for r in answers[-1]} if opened else set()
    for e in opened:
        if e.interval_id not in made:
            log.info("machine %s: stop at %s is covered by recorded downtime", machines[e.machine_id].code,
                     e.started_at)
    if subscribed:  # no endpoint listens: no facts to build (most batches of most companies)
        emit(conn, tenant_id, _webhook_facts(machines, ended, [e for e in opened if e.interval_id in made], subscribed))


def _webhook_facts(machines: dict[UUID, _Machine], ended: list[_Event], started: list[_Event],
                   subscribed: frozenset[str]) -> list[Fact]:
    """What webhooks hear of the batch: each new state (not a new code of the same state), and downtime;
    only the types some endpoint subscribes to."""
    out: list[Fact] = []
    for m in machines.values() if "machine.state_changed" in subscribed else ():
        previous: _Interval | None = None
        for interval in m.history:
            if not interval.stored and (previous is None or previous.state != interval.state):
                out.append(facts.state_changed(m.id, m.code, interval.state.value,
                                               previous.state.value if previous else None, interval.raw_code,
                                               interval.started_at))
            previous = interval
    for e in started:
        out += facts.downtime_opened(e.machine_id, e.started_at, e.ended_at, e.interval_id)
    for e in ended:
        if e.ended_at is not None:
            out.append(facts.downtime_ended(e.machine_id, e.started_at, e.ended_at, e.interval_id))
    return [f for f in out if f.type in subscribed]
