"""A batch of machine state changes in two round trips, whatever its size.

`record_state_changes` gives what `record_state_change` gives event by event (the same
intervals, downtime events and outcomes) but reads and writes set-wise: lock the batch's
machines, then read each one's latest interval (a lateral step per machine) and, for a stop, the
stop run it ends (each interval with its downtime event), in one round trip; replay the events in
Python, machine by machine over each one's own changes; then close, insert and flag with one
`… from unnest` each, their arrays built in one pass, all in a second round trip (`run_batch`:
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

A late change (older than its machine's latest known instant, and not a replay) is rare: the
machine's changes before it are replayed with the batch; once the batch is written it goes
through `record_state_change`, which fits it into the stored intervals (`state_late`); then the
machine's changes after it are replayed as a batch of their own, in which a second late change
and everything after it go event by event.
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
from uuid import UUID, SafeUUID

from sqlalchemy import Connection

from factoryos import collector
from factoryos.db.driver import PlannedEachTime, run_batch
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
class _Event:
    interval_id: UUID
    machine_id: UUID
    started_at: datetime
    ended_at: datetime | None
    stored_id: UUID | None = None  # an event in the database before this batch
    closed_at: datetime | None = None  # the change that closed it (its updated_at)


# No default factories: a batch makes one per change, and most never hold a reassertion.
@dataclass(slots=True)
class _Interval:
    id: UUID
    state: MachineState
    raw_code: int | None
    started_at: datetime
    ended_at: datetime | None
    stored: bool  # in the database before this batch
    closed_now: bool = False  # a stored open interval this batch closes
    seen_now: list[datetime] | None = None  # reassertions this batch adds
    event: _Event | None = None  # its downtime event, stored or new


@dataclass(slots=True)
class _Machine:
    id: UUID
    code: str
    threshold: timedelta
    history: list[_Interval] = field(default_factory=list)  # oldest first: stored stop run, then new
    starts: set[datetime] = field(default_factory=set)  # changes known to be stored (probed, and new)
    clock: datetime | None = None  # the latest change stored or applied


_PARAM = re.compile(r"(?<![:\w]):([a-z_]+)")


def _sql(statement: str) -> str:
    """`:name` parameters as psycopg's `%(name)b`: sent in binary (arrays of 500 timestamps or
    uuids cost a fifth of the CPU of their text form). Run with `conn.exec_driver_sql`."""
    return _PARAM.sub(r"%(\1)b", statement)


_LOCK_MACHINES = _sql("""
    select m.id, m.code, s.micro_stop_seconds
    from machines m join sites s on s.tenant_id = m.tenant_id and s.id = m.site_id
    where m.tenant_id = :tenant and m.id = any(cast(:ids as uuid[]))
    order by m.id
    for no key update of m  -- as `record_state_change`: one state writer per machine at a time
""")
# Read with the lock, once (as a column of the lock's rows it was loaded once per machine).
_SUBSCRIBED = _sql("select " + SUBSCRIBED_TYPES + " as subscribed")
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
# No join with the batch's arrays: each closed interval takes its end from the array by its place
# (array_position), and the rows are found through `= any(...)` on keys, so no plan can compare every
# open interval with every close (a join kept prepared did: machines × closes, 10 ms for 200 of each).
# Planned for each batch (`PlannedEachTime`): the arrays are then constants, the `any` hashed.
_CLOSE_INTERVALS = PlannedEachTime(_sql("""
    update machine_state_intervals i
    set ended_at = (cast(:ends as timestamptz[]))[array_position(cast(:ids as uuid[]), i.id)]
    where i.tenant_id = :tenant and i.machine_id = any(cast(:machines as uuid[]))
      and i.id = any(cast(:ids as uuid[])) and i.ended_at is null
"""))
_INSERT_INTERVALS = _sql("""
    insert into machine_state_intervals (id, tenant_id, machine_id, state, raw_code, started_at, ended_at)
    select u.id, :tenant, u.machine_id, u.state, u.raw_code, u.started_at, u.ended_at
    from unnest(cast(:ids as uuid[]), cast(:machines as uuid[]), cast(:states as text[]),
                cast(:codes as bigint[]), cast(:starts as timestamptz[]), cast(:ends as timestamptz[]))
         as u(id, machine_id, state, raw_code, started_at, ended_at)
""")
# By key, without a join, for the same reason (a prepared join scanned every downtime event of the
# company still needing a reason on a young table).
_CLOSE_EVENTS = PlannedEachTime(_sql("""
    update downtime_events d
    set ended_at = (cast(:ends as timestamptz[]))[array_position(cast(:ids as uuid[]), d.id)],
        updated_at = (cast(:updated as timestamptz[]))[array_position(cast(:ids as uuid[]), d.id)]
    where d.tenant_id = :tenant and d.id = any(cast(:ids as uuid[]))
"""))
# New machine downtime, except where recorded downtime already covers part of it (the
# operator's record explains that stop). Downtime of a machine never overlaps, so only the
# event starting last before the new one ends can reach into it: one backward index step, bounded by
# the new event's end. The bound is computed apart (`offset 0`): an `or`/`coalesce` in the step's own
# condition is no index bound, so the step walked every later event of the machine (downtime written
# before newer downtime: a late change, an edge's backlog).
_INSERT_EVENTS = _sql("""
    insert into downtime_events (tenant_id, machine_id, started_at, ended_at, planned, source, needs_reason,
                                 state_interval_id, updated_at)
    select :tenant, u.machine_id, u.started_at, u.ended_at, false, 'machine', true, u.interval_id,
           coalesce(u.updated_at, now())
    from (select v.*, coalesce(v.ended_at, 'infinity') as bound
          from unnest(cast(:machines as uuid[]), cast(:starts as timestamptz[]), cast(:ends as timestamptz[]),
                      cast(:intervals as uuid[]), cast(:updated as timestamptz[]))
               as v(machine_id, started_at, ended_at, interval_id, updated_at)
          offset 0) u
    where not exists (
      select 1 from (
        select d.ended_at from downtime_events d
        where d.tenant_id = :tenant and d.machine_id = u.machine_id and d.started_at < u.bound
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
        return _replay(conn, tenant_id, [_parse(c) for c in changes], again=True)


def _replay(conn: Connection, tenant_id: UUID, events: list[tuple[UUID, MachineState, int | None, datetime]], *,
            again: bool) -> list[StateOutcome]:
    """The batch's events in two round trips; each machine's first late change event by event after
    them, and (`again`) the machine's changes after that one as a batch of their own."""
    if not events:
        return []
    # Each change's machine looked up once (a uuid's hash and equality are Python calls): machines
    # replay apart, each over its own changes; every outcome is set below.
    by_machine: defaultdict[UUID, list[int]] = defaultdict(list)
    for n, e in enumerate(events):
        by_machine[e[0]].append(n)
    machines, subscribed = _read(conn, tenant_id, events, by_machine)
    outcomes: list[StateOutcome] = [StateOutcome.DUPLICATE] * len(events)
    opened: list[_Event] = []
    late: list[int] = []  # each machine's first late change (its place in the batch)
    after: list[int] = []  # the changes of those machines after it
    for m, order in machines:
        first_late = _first_late(m, events, order)
        for n in order[:first_late]:
            _, state, raw_code, at = events[n]
            outcomes[n] = _apply(m, opened, state, raw_code, at)
        late += order[first_late:first_late + 1]
        after += order[first_late + 1:]
    _write(conn, tenant_id, [m for m, _ in machines], opened, subscribed)
    if not again:  # a second late change of a machine: the rest goes event by event
        late, after = late + after, []
    for n in sorted(late):  # after the changes before them were written
        machine_id, state, raw_code, at = events[n]
        outcomes[n] = record_state_change(conn, tenant_id, machine_id, state, raw_code, at)
    if after:  # mostly in order again once the late change is fitted in: a batch of their own
        after.sort()
        for n, outcome in zip(after, _replay(conn, tenant_id, [events[n] for n in after], again=False),
                              strict=True):
            outcomes[n] = outcome
    return outcomes


def _first_late(m: _Machine, events: Sequence[tuple], order: list[int]) -> int:
    """The place in `order` of `m`'s first change that is neither after all it knows nor a replay
    (`len(order)`: none). The changes before it replay with the batch (`_replay`)."""
    clock = m.clock
    end = m.history[-1].ended_at if m.history else None
    starts = m.starts
    for place, n in enumerate(order):
        at = events[n][3]
        if clock is None or (at > clock and (end is None or at >= end)):
            clock, end = at, None
            starts.add(at)  # a later replay of it in the batch is a duplicate
        elif at not in starts:
            return place
    return len(order)


def _read(conn: Connection, tenant_id: UUID, events: Sequence[tuple], by_machine: dict[UUID, list[int]]
          ) -> tuple[list[tuple[_Machine, list[int]]], frozenset[str]]:
    """The batch's machines, locked, each with its latest interval and the stored stop run that one
    ends (`history`, oldest first; each stop with its stored downtime event), read once the lock is
    held, in one round trip, each with its changes' places in the batch; and the webhook event types
    the company's endpoints subscribe to. Which older stored starts
    the batch's events name (replays) costs a second round trip, only for a batch that has such events."""
    ids = list(by_machine)
    rows, subscribed, runs = run_batch(conn, [
        (_LOCK_MACHINES, {"tenant": tenant_id, "ids": ids}),
        (_SUBSCRIBED, {"tenant": tenant_id}),
        (_HISTORY, {"tenant": tenant_id, "ids": ids, "stops": _STOPS, "lookback": _RUN_LOOKBACK})])
    found: dict[UUID, _Machine] = {}
    thresholds: dict[int, timedelta] = {}  # one per site
    for r in rows:
        threshold = thresholds.get(r["micro_stop_seconds"])
        if threshold is None:
            threshold = thresholds[r["micro_stop_seconds"]] = timedelta(seconds=r["micro_stop_seconds"])
        found[r["id"]] = _Machine(r["id"], r["code"], threshold)
    if len(found) < len(ids):
        missing = next(e[0] for e in events if e[0] not in found)
        raise ValidationFailed(f"machine {missing} not found", code="machine_not_found", field="machine_id")
    for r in runs:
        m = found[r["machine_id"]]
        interval = _Interval(r["id"], _STATE_OF[r["state"]], r["raw_code"], r["started_at"], r["ended_at"], True)
        m.history.append(interval)
        m.starts.add(interval.started_at)
        if r["depth"] == 1:
            seen = r["seen_at"] or ()
            m.starts.update(seen)
            m.clock = last_known(interval.started_at, seen)
        if r["event_id"] is not None:
            interval.event = _Event(r["id"], r["machine_id"], r["started_at"], r["event_ended_at"],
                                    stored_id=r["event_id"])
    out: list[tuple[_Machine, list[int]]] = []
    probe: list[tuple[_Machine, datetime]] = []
    for machine_id, order in by_machine.items():
        m = found[machine_id]
        out.append((m, order))
        if m.history:
            if len(m.history) > 1:
                m.history.sort(key=_start)
            latest = m.history[-1].started_at
            probe += [(m, at) for n in order if (at := events[n][3]) < latest]
    if probe:
        for r in run_batch(conn, [(_STARTS, {"tenant": tenant_id, "machines": [p[0].id for p in probe],
                                            "ats": [p[1] for p in probe]})])[0]:
            found[r["machine_id"]].starts.add(r["started_at"])
    return out, frozenset(subscribed[0]["subscribed"])


def _start(i: _Interval) -> datetime:
    return i.started_at


def _new_id() -> UUID:
    """A random (version 4) id, as `uuid.uuid4` makes it, from a pool read in one system call
    (a batch makes hundreds); its version and variant bits set on the integer, and the object made
    as `UUID.__init__` makes it, without its checks of which argument came (half its cost). Pops
    are atomic; a process forked with a pool starts without it."""
    while True:
        try:
            value = (_ID_POOL.pop() & _V4_KEEP) | _V4_SET
            break
        except IndexError:
            pool = os.urandom(16 * 512)
            _ID_POOL.extend(int.from_bytes(pool[i:i + 16]) for i in range(0, len(pool), 16))
    new = object.__new__(UUID)
    object.__setattr__(new, "int", value)
    object.__setattr__(new, "is_safe", SafeUUID.unknown)
    return new


_V4_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V4_SET = (4 << 76) | (0x8000 << 48)
_ID_POOL: list[int] = []
os.register_at_fork(after_in_child=_ID_POOL.clear)


def _apply(m: _Machine, opened: list[_Event], state: MachineState, raw_code: int | None,
           at: datetime) -> StateOutcome:
    history = m.history
    latest = history[-1] if history else None
    if latest is not None:
        assert m.clock is not None
        if at <= m.clock or (latest.ended_at is not None and at < latest.ended_at):
            return StateOutcome.DUPLICATE  # late changes that are not replays went event by event
        m.clock = at
        if latest.ended_at is None:
            if latest.state == state and latest.raw_code == raw_code:
                if latest.seen_now is None:
                    latest.seen_now = [at]
                else:
                    latest.seen_now.append(at)
                return StateOutcome.UNCHANGED
            latest.ended_at = at
            latest.closed_now = latest.stored
            if latest.state in STOP_STATES:
                _flag_run(m, opened, len(history) - 1, at)
    history.append(_Interval(_new_id(), state, raw_code, at, None, False))
    m.clock = at
    if state in STOP_STATES and ((latest is not None and latest.state in STOP_STATES) or not m.threshold):
        _flag_run(m, opened, len(history) - 1, at)
    return StateOutcome.OPENED


def _flag_run(m: _Machine, opened: list[_Event], last: int, now: datetime) -> None:
    """`signals._flag_run` on the replayed history: the stop run ending at `history[last]`."""
    history = m.history
    interval = history[last]
    if interval.state not in STOP_STATES:
        return
    first = last
    while last - first < _RUN_LOOKBACK and first > 0:
        before, after = history[first - 1], history[first]
        if before.ended_at != after.started_at or before.state not in STOP_STATES:
            break
        first -= 1
    end = interval.ended_at or now
    if end - history[first].started_at < m.threshold:
        return
    for member in history[first:last + 1]:
        event = member.event
        if event is None:
            member.event = event = _Event(member.id, m.id, member.started_at, member.ended_at)
            opened.append(event)
        elif event.ended_at is None and member.ended_at is not None:
            event.ended_at, event.closed_at = member.ended_at, now


def _write(conn: Connection, tenant_id: UUID, machines: list[_Machine], opened: list[_Event],
           subscribed: frozenset[str]) -> None:
    """Every write of the batch in one round trip, in this order; the statements' arrays built in
    one pass over the replayed histories."""
    close_machines: list[UUID] = []
    close_ids: list[UUID] = []
    close_ends: list[datetime | None] = []
    ids: list[UUID] = []
    of: list[UUID] = []
    states: list[str] = []
    codes: list[int | None] = []
    starts: list[datetime] = []
    ends: list[datetime | None] = []
    seen_ids: list[UUID] = []
    seen_ats: list[datetime] = []
    ended: list[_Event] = []
    for m in machines:
        machine_id = m.id
        for i in m.history:
            if i.stored:
                if i.closed_now:
                    close_machines.append(machine_id)
                    close_ids.append(i.id)
                    close_ends.append(i.ended_at)
                e = i.event
                if e is not None and e.closed_at is not None and e.stored_id is not None:
                    ended.append(e)
            else:
                ids.append(i.id)
                of.append(machine_id)
                states.append(i.state.value)
                codes.append(i.raw_code)
                starts.append(i.started_at)
                ends.append(i.ended_at)
            if i.seen_now is not None:
                seen_ids += [i.id] * len(i.seen_now)
                seen_ats += i.seen_now
    statements: list[tuple[str, dict[str, Any]]] = []
    if close_ids:  # first: a machine's next interval may only open once its open one is closed
        statements.append((_CLOSE_INTERVALS, {"tenant": tenant_id, "machines": close_machines, "ids": close_ids,
                                              "ends": close_ends}))
    if ids:
        statements.append((_INSERT_INTERVALS, {"tenant": tenant_id, "ids": ids, "machines": of, "states": states,
                                               "codes": codes, "starts": starts, "ends": ends}))
    if seen_ids:
        statements.append((_ADD_SEEN, {"tenant": tenant_id, "ids": seen_ids, "ats": seen_ats}))
    if ended:
        statements.append((_CLOSE_EVENTS, {"tenant": tenant_id, "ids": [e.stored_id for e in ended],
                                           "ends": [e.ended_at for e in ended],
                                           "updated": [e.closed_at for e in ended]}))
    if opened:
        statements.append((_INSERT_EVENTS, {
            "tenant": tenant_id, "machines": [e.machine_id for e in opened], "starts": [e.started_at for e in opened],
            "ends": [e.ended_at for e in opened], "intervals": [e.interval_id for e in opened],
            "updated": [e.closed_at for e in opened]}))
    answers = run_batch(conn, statements) if statements else []
    made = {r["state_interval_id"] for r in answers[-1]} if opened else set()
    codes_of = {m.id: m.code for m in machines} if len(made) < len(opened) else {}
    for e in opened:
        if e.interval_id not in made:
            log.info("machine %s: stop at %s is covered by recorded downtime", codes_of[e.machine_id], e.started_at)
    if subscribed:  # no endpoint listens: no facts to build (most batches of most companies)
        emit(conn, tenant_id, _webhook_facts(machines, ended, [e for e in opened if e.interval_id in made], subscribed))


def _webhook_facts(machines: list[_Machine], ended: list[_Event], started: list[_Event],
                   subscribed: frozenset[str]) -> list[Fact]:
    """What webhooks hear of the batch: each new state (not a new code of the same state), and downtime;
    only the types some endpoint subscribes to."""
    out: list[Fact] = []
    for m in machines if "machine.state_changed" in subscribed else ():
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
