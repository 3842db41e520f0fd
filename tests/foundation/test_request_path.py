"""The entry request's conversation with PostgreSQL: how many times it waits for an answer.

Every wait is a round trip on the request's critical path (and, under load, a thread waking up
behind the interpreter lock), so their number is a cost we keep down on purpose. libpq's protocol
trace of the request's pooled connection shows each message with its direction; a round trip is
a run of messages to the server followed by the server's answer.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from psycopg import pq
from sqlalchemy import Engine, event, text

from server.state import server_state
from tests.accounts import Session, join, new_company
from tests.conftest import LiveServer
from tests.production import plant
from tests.production.plant import problem

# The entry's round trips: begin + tenant + live access + idempotency claim; booking + checks;
# the insert + the stored answer + audit + commit. (Before #25: twelve.)
ENTRY_ROUND_TRIPS = 3


@dataclass
class Wire:
    """libpq traces of the server's pooled connections, one file per checkout."""

    engine: Engine
    folder: Path
    traces: list[Path] = field(default_factory=list)
    tracing: int = 0  # connections checked out with a trace on

    def checkout(self, dbapi_conn, record, proxy) -> None:  # noqa: ANN001 (SQLAlchemy's event signature)
        path = self.folder / f"{len(self.traces):04d}.trace"
        self.traces.append(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        record.info["trace_fd"] = fd
        self.tracing += 1
        dbapi_conn.pgconn.trace(fd)
        dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def checkin(self, dbapi_conn, record) -> None:  # noqa: ANN001
        fd = record.info.pop("trace_fd", None)
        if fd is not None:
            if dbapi_conn is not None:
                dbapi_conn.pgconn.untrace()  # flushes libpq's stream; the fd stays open until os.close
            os.close(fd)
            self.tracing -= 1

    def conversations(self, marker: str) -> list[list[str]]:
        """The traced checkouts whose messages mention `marker`, as lists of trace lines."""
        found = []
        for path in self.traces:
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            if any(marker in line for line in lines):
                found.append(lines)
        return found


def round_trips(lines: list[str]) -> int:
    """Runs of frontend messages each answered by the backend: the times the client waited."""
    count, last = 0, ""
    for line in lines:
        direction = line.split("\t", 1)[0]
        if direction == "B" and last == "F":
            count += 1
        if direction in ("F", "B"):
            last = direction
    return count


@pytest.fixture()
def wire(live_server: LiveServer) -> Iterator[Wire]:
    engine = server_state(live_server.server.config.app).engine
    with tempfile.TemporaryDirectory(prefix="wire-") as folder:
        w = Wire(engine, Path(folder))
        event.listen(engine, "checkout", w.checkout)
        event.listen(engine, "checkin", w.checkin)
        try:
            yield w
        finally:
            event.remove(engine, "checkout", w.checkout)
            deadline = time.monotonic() + 10  # a background task may still hold a traced connection
            while w.tracing and time.monotonic() < deadline:
                time.sleep(0.02)
            event.remove(engine, "checkin", w.checkin)


@dataclass
class Terminal:
    owner: Session
    operator: Session
    site: dict
    machine: dict


@pytest.fixture(scope="module")
def terminal(live_server: LiveServer) -> Terminal:
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        owner = new_company(api)
        operator = join(api, owner, "operator")
        s = plant.site(api, owner, timezone="UTC")
        m = plant.machine(api, owner, s["id"], cycle="0.01")
        plant.shift(api, owner, s["id"], "Day", "00:00", "00:00")  # 24 hours: always running
        plant.operator(api, owner, s["id"], operator.user_id)
        return Terminal(owner, operator, s, m)


@pytest.fixture()
def machine(http: httpx.Client, terminal: Terminal) -> dict:
    """A machine of its own, with no entries yet."""
    return plant.machine(http, terminal.owner, terminal.site["id"], cycle="0.01")


def _recent(minutes: int) -> datetime:
    """`minutes` ago, though not before the running (midnight to midnight UTC) shift began."""
    now = datetime.now(UTC)
    return max(now - timedelta(minutes=minutes), now.replace(hour=0, minute=0, second=1, microsecond=0))


def _entry(http: httpx.Client, t: Terminal, key: str, quantity: int = 1) -> httpx.Response:
    return http.post("/api/v1/production/entry", json={"machine_id": t.machine["id"], "good_quantity": quantity},
                     headers={**t.operator.headers, "Idempotency-Key": key})


def _entry_trace(wire: Wire) -> list[str]:
    found = wire.conversations("production_entries")
    assert len(found) == 1, f"{len(found)} traced checkouts touched production_entries"
    return found[0]


def test_an_entry_takes_few_round_trips(http: httpx.Client, terminal: Terminal, wire: Wire) -> None:
    _entry(http, terminal, f"warm-{uuid.uuid4().hex}")  # the shift instance is stored by the first
    wire.traces.clear()
    r = _entry(http, terminal, f"rt-{uuid.uuid4().hex}")
    assert r.status_code == 201, r.text
    trips = round_trips(_entry_trace(wire))
    assert trips <= ENTRY_ROUND_TRIPS, f"an entry took {trips} round trips"


def test_a_replayed_entry_answers_from_its_key(http: httpx.Client, terminal: Terminal, wire: Wire,
                                               superuser_engine: Engine) -> None:
    key = f"replay-{uuid.uuid4().hex}"
    first = _entry(http, terminal, key, 2)
    again = _entry(http, terminal, key, 2)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    problem(_entry(http, terminal, key, 3), 422, "idempotency_key_reused", "Idempotency-Key")
    with superuser_engine.connect() as conn:
        stored = conn.execute(text("select count(*) from production_entries where id = :id"),
                              {"id": first.json()["id"]}).scalar_one()
        audited = conn.execute(text("select count(*) from audit_log where entity_id = :id and action = 'create'"),
                               {"id": first.json()["id"]}).scalar_one()
    assert (stored, audited) == (1, 1)


def test_a_refused_entry_leaves_its_key_free(http: httpx.Client, terminal: Terminal) -> None:
    """A refusal rolls the claimed key back with everything else: the corrected retry runs."""
    key = f"refused-{uuid.uuid4().hex}"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    problem(http.post("/api/v1/production/entry",
                      json={"machine_id": terminal.machine["id"], "good_quantity": 1, "ended_at": future},
                      headers={**terminal.operator.headers, "Idempotency-Key": key}), 422, "entry_in_future")
    assert _entry(http, terminal, key).status_code == 201


def test_the_answer_is_the_stored_row(http: httpx.Client, terminal: Terminal, machine: dict) -> None:
    """The entry is written with the commit, after the answer was made from the checked values:
    both must say the same, instants in UTC as the database gives them."""
    starts = _recent(30).astimezone(ZoneInfo("Europe/Berlin"))  # sent with an offset of +01:00
    body = {"machine_id": machine["id"], "good_quantity": 3, "rework_quantity": 1, "job_ref": "J-1",
            "note": "Żółć", "started_at": starts.isoformat(), "ended_at": (starts + timedelta(seconds=30)).isoformat()}
    r = http.post("/api/v1/production/entry", json=body,
                  headers={**terminal.operator.headers, "Idempotency-Key": f"row-{uuid.uuid4().hex}"})
    assert r.status_code == 201, r.text
    stored = http.get(f"/api/v1/production/entry/{r.json()['id']}", headers=terminal.owner.headers)
    assert stored.status_code == 200 and stored.json() == r.json()
    assert datetime.fromisoformat(r.json()["started_at"]).utcoffset() == timedelta(0)


def test_an_entry_that_loses_the_race_at_the_insert_is_refused(http: httpx.Client, terminal: Terminal,
                                                               machine: dict, superuser_engine: Engine) -> None:
    """Between the checks and the commit another entry of the machine commits first: the overlap
    trigger refuses the insert that rides with the commit, and the answer is the usual 409."""
    start = _recent(30)
    end = start + timedelta(seconds=30)
    body = {"machine_id": machine["id"], "good_quantity": 1, "started_at": start.isoformat(),
            "ended_at": end.isoformat()}
    answer: dict[str, httpx.Response] = {}
    with superuser_engine.connect() as conn:
        instance = conn.execute(text(
            "select id from shift_instances where tenant_id = :t and site_id = :s and starts_at <= :at "
            "and ends_at > :at"), {"t": terminal.owner.tenant_id, "s": terminal.site["id"], "at": start}).scalar_one()
        conn.execute(text(  # holds the machine's overlap lock until this transaction ends
            "insert into production_entries (tenant_id, machine_id, shift_instance_id, operator_id, good_quantity, "
            "started_at, ended_at) values (:t, :m, :i, :o, 1, :a, :b)"),
            {"t": terminal.owner.tenant_id, "m": machine["id"], "i": instance,
             "o": terminal.operator.user_id, "a": start, "b": end})
        post = threading.Thread(target=lambda: answer.setdefault("r", http.post(
            "/api/v1/production/entry", json=body,
            headers={**terminal.operator.headers, "Idempotency-Key": f"race-{uuid.uuid4().hex}"})))
        post.start()
        with superuser_engine.connect() as watch:  # the request's insert waits for that lock
            for _ in range(600):
                waiting = watch.execute(text(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted")).scalar_one()
                if waiting or not post.is_alive():
                    break
                time.sleep(0.05)
        assert waiting, "the request did not reach its insert while the other entry was open"
        conn.commit()
    post.join(30)
    problem(answer["r"], 409, "entry_overlap", "started_at")
    with superuser_engine.connect() as conn:
        assert conn.execute(text("select count(*) from production_entries where machine_id = :m and started_at = :a"),
                            {"m": machine["id"], "a": start}).scalar_one() == 1


def test_a_later_shift_not_stored_yet_wins_over_a_stored_one(http: httpx.Client, terminal: Terminal,
                                                            superuser_engine: Engine) -> None:
    """The running shift is read with the checks only when no shift merely computed from a pattern
    would win: here the stored Long shift holds the instant, but Mid (not stored yet) started
    later and takes the entry, as it always did."""
    now = datetime.now(UTC)
    offset = 12 - now.hour  # a zone where it is about noon now, so the shifts below hold it
    offset = offset - 24 if offset > 14 else offset + 24 if offset < -12 else offset
    zone = f"Etc/GMT{-offset:+d}" if offset else "UTC"  # (Etc/GMT-3 is three hours ahead of UTC)
    owner = terminal.owner
    s = plant.site(http, owner, timezone=zone)
    m = plant.machine(http, owner, s["id"], cycle="0.01")
    plant.operator(http, owner, s["id"], terminal.operator.user_id)
    long = plant.shift(http, owner, s["id"], "Long", "06:00", "22:00")
    mid = plant.shift(http, owner, s["id"], "Mid", "10:00", "16:00")
    today = now.astimezone(ZoneInfo(zone)).date()
    early = datetime.combine(today, datetime.min.time(), ZoneInfo(zone)).replace(hour=7)
    first = http.post("/api/v1/production/entry", headers=terminal.operator.headers, json={
        "machine_id": m["id"], "good_quantity": 1, "shift_id": long["id"], "shift_date": today.isoformat(),
        "started_at": early.isoformat(), "ended_at": (early + timedelta(minutes=5)).isoformat()})
    assert first.status_code == 201, first.text  # Long's instance is stored now
    r = http.post("/api/v1/production/entry", headers=terminal.operator.headers, json={
        "machine_id": m["id"], "good_quantity": 1, "started_at": (now - timedelta(minutes=2)).isoformat(),
        "ended_at": (now - timedelta(minutes=1)).isoformat()})
    assert r.status_code == 201, r.text
    with superuser_engine.connect() as conn:
        pattern = conn.execute(text("select pattern_id from shift_instances where id = :i"),
                               {"i": r.json()["shift_instance_id"]}).scalar_one()
    assert str(pattern) == mid["id"]


def test_entries_outlive_their_prepared_statements(http: httpx.Client, terminal: Terminal, machine: dict,
                                                   live_server: LiveServer) -> None:
    """The request path prepares its statements on each pooled connection the first time it runs
    there. Whatever deallocates them (psycopg does, rolling back with statements of its own
    prepared) must not fail the next request on that connection: it prepares them again."""
    start = _recent(30)

    def entry(i: int) -> httpx.Response:
        began = start + timedelta(seconds=i)
        body = {"machine_id": machine["id"], "good_quantity": 1, "started_at": began.isoformat(),
                "ended_at": (began + timedelta(seconds=1)).isoformat()}
        return http.post("/api/v1/production/entry", json=body,
                         headers={**terminal.operator.headers, "Idempotency-Key": f"prep-{uuid.uuid4().hex}"})

    engine = server_state(live_server.server.config.app).engine
    pooled = engine.pool.checkedin()  # type: ignore[attr-defined]
    for i in range(pooled + 2):  # every pooled connection has prepared them
        assert entry(i).status_code == 201
    held = [engine.connect() for _ in range(pooled)]
    for conn in held:  # behind the request path's back
        conn.exec_driver_sql("deallocate all")
        conn.commit()
    for conn in held:
        conn.close()
    for i in range(pooled + 2, 3 * pooled + 4):
        r = entry(i)
        assert r.status_code == 201, r.text
