"""OEE through the API for hand-computed reference cases, checked against the engine too.

Data goes in the way it does in production: operator entries over HTTP, and machine
signals through the connectivity functions. Every expected value is worked out below.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

import httpx
import pytest

from factoryos.db.tenant import tenant_transaction
from factoryos.kpi import (
    DowntimeEvent,
    KpiPolicy,
    MachineWindow,
    ShiftPattern,
    StateInterval,
    cycle_time,
    machine_kpis,
    resolve_shift,
)
from factoryos.production.signals import CountRow, record_counts, record_state_change
from tests.accounts import Session, new_company
from tests.production import plant


@pytest.fixture(scope="module")
def owner(api: httpx.Client) -> Session:
    return new_company(api)


@pytest.fixture(scope="module")
def codes(api: httpx.Client, owner: Session) -> dict[str, str]:
    items = api.get("/api/v1/downtime/reasons", headers=owner.headers).json()["items"]
    return {r["code"]: r["id"] for r in items}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def new_site(api, owner: Session, tz: str = "Europe/Berlin", **over) -> dict:
    s = plant.site(api, owner, timezone=tz, **over)
    plant.operator(api, owner, s["id"], owner.user_id)
    return s


def post(api, owner: Session, path: str, body: dict) -> dict:
    r = api.post(path, json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()


def oee(api, owner: Session, **params) -> dict:
    r = api.get("/api/v1/kpis/oee", params=params, headers=owner.headers)
    assert r.status_code == 200, r.text
    return r.json()


def f(x: Fraction) -> float:
    return float(x)


def test_plain_day_shift(api, owner, codes) -> None:
    s = new_site(api, owner)
    early = plant.shift(api, owner, s["id"], "Early", "06:00", "14:00")
    m = plant.machine(api, owner, s["id"], cycle=30)
    ref = {"machine_id": m["id"], "shift_id": early["id"], "shift_date": "2026-06-15"}
    plan = post(api, owner, "/api/v1/production/plan", ref | {"target_quantity": 800})
    post(api, owner, "/api/v1/production/entry", ref | {"good_quantity": 700})
    post(api, owner, "/api/v1/rejections", ref | {"quantity": 20, "reason_id": codes["DEFECT.DIMENSION"]})
    post(api, owner, "/api/v1/downtime", {"machine_id": m["id"], "started_at": "2026-06-15T07:00:00Z",
                                          "ended_at": "2026-06-15T08:00:00Z", "reason_id": codes["BREAKDOWN.ELECTRICAL"]})
    got = oee(api, owner, scope="machine", id=m["id"], shift_instance_id=plan["shift_instance_id"])
    # Berlin in June is UTC+2: 04:00Z–12:00Z, 28 800 s, no breaks: planned busy 28 800 s.
    # One 3 600 s breakdown: run 25 200 s.  Ideal 30 s × (700 + 20) = 21 600 s.
    # A = 25 200 / 28 800 = 7/8, P = 21 600 / 25 200 = 6/7, Q = 700 / 720 = 35/36
    # OEE = 7/8 × 6/7 × 35/36 = 35/48 ≈ 0.729;  target attainment 700 / 800 = 7/8
    k = got["kpis"]
    assert (k["availability"], k["performance"], k["quality"], k["oee"]) == (f(Fraction(7, 8)), f(Fraction(6, 7)),
                                                                             f(Fraction(35, 36)), f(Fraction(35, 48)))
    assert (k["target_attainment"], k["mtbf_seconds"], k["mttr_seconds"]) == (0.875, 25200, 3600)
    assert (k["scrap_rate"], k["first_pass_yield"]) == (f(Fraction(20, 720)), f(Fraction(700, 720)))
    assert (got["start"], got["end"], got["windows"]) == ("2026-06-15T04:00:00Z", "2026-06-15T12:00:00Z", 1)

    # The engine, fed the same records directly, agrees to the last bit.
    shift = resolve_shift(ShiftPattern("Early", time(6), time(14)), date(2026, 6, 15), "Europe/Berlin")
    engine = machine_kpis(MachineWindow.for_shift(
        shift, ideal_cycle_time=cycle_time(30), good_count=700, reject_count=20, target_quantity=800,
        downtime=(DowntimeEvent(utc("2026-06-15T07:00"), utc("2026-06-15T08:00"), planned=False),)))
    assert k["oee"] == engine.oee and k["mtbf_seconds"] == engine.mtbf.total_seconds()


def test_night_shift_across_midnight_from_machine_signals(api, owner, app_engine) -> None:
    s = new_site(api, owner)
    plant.shift(api, owner, s["id"], "Night", "22:00", "06:00")
    m = plant.machine(api, owner, s["id"], cycle=60)
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        for state, code, at in (("running", 1, "2026-06-15T20:00"), ("unplanned_stop", 9, "2026-06-15T23:30"),
                                ("running", 1, "2026-06-16T00:30")):
            record_state_change(conn, tenant, m["id"], state, code, utc(at))
        rows = [CountRow(m["id"], utc("2026-06-15T21:00"), 200, 4, "a"),   # before midnight UTC
                CountRow(m["id"], utc("2026-06-16T02:59"), 160, 6, "b")]   # after, still in the shift
        record_counts(conn, tenant, rows + [CountRow(m["id"], utc("2026-06-16T04:00"), 7, 0, "c"),   # between shifts
                                            CountRow(m["id"], utc("2026-06-16T20:30"), 50, 0, "d")])  # next night
    got = oee(api, owner, scope="machine", id=m["id"], date="2026-06-15")
    # The Monday night shift 22:00–06:00 CEST is 20:00Z Mon – 04:00Z Tue and belongs to Monday.
    # 28 800 s; a 3 600 s stop (also opened a machine downtime event: counted once): run 25 200 s.
    # Counts in the window: 360 good + 10 rejects; ideal 60 s × 370 = 22 200 s.
    # A = 7/8, P = 22 200 / 25 200 = 37/42, Q = 36/37, OEE = 7/8 × 37/42 × 36/37 = 3/4
    k = got["kpis"]
    assert (k["availability"], k["performance"], k["quality"], k["oee"]) == (0.875, f(Fraction(37, 42)),
                                                                             f(Fraction(36, 37)), 0.75)
    assert got["totals"]["unplanned_stop_seconds"] == 3600 and got["totals"]["failure_count"] == 1
    assert got["start"] == "2026-06-15T20:00:00Z" and got["end"] == "2026-06-16T04:00:00Z"
    tuesday = oee(api, owner, scope="machine", id=m["id"], date="2026-06-16")
    assert tuesday["totals"]["good_count"] == 50  # only Tuesday night's count

    shift = resolve_shift(ShiftPattern("Night", time(22), time(6)), date(2026, 6, 15), "Europe/Berlin")
    engine = machine_kpis(MachineWindow.for_shift(shift, ideal_cycle_time=cycle_time(60), good_count=360,
                                                  reject_count=10, states=(
        StateInterval(utc("2026-06-15T20:00"), utc("2026-06-15T23:30"), "running"),
        StateInterval(utc("2026-06-15T23:30"), utc("2026-06-16T00:30"), "unplanned_stop"),
        StateInterval(utc("2026-06-16T00:30"), utc("2026-06-16T06:00"), "running"))))
    assert k["oee"] == engine.oee


def test_dst_nights_last_seven_and_nine_hours(api, owner) -> None:
    s = new_site(api, owner)
    night = plant.shift(api, owner, s["id"], "Night", "22:00", "06:00")
    m = plant.machine(api, owner, s["id"], cycle=36)  # 100 per hour
    for day in ("2026-03-28", "2026-10-24"):
        post(api, owner, "/api/v1/production/entry",
             {"machine_id": m["id"], "shift_id": night["id"], "shift_date": day, "good_quantity": 600})
    spring = oee(api, owner, scope="machine", id=m["id"], date="2026-03-28")
    # Clocks jump 02:00 → 03:00 that night: 21:00Z – 04:00Z is 7 h = 25 200 s.
    # Ideal 36 s × 600 = 21 600 s: P = 21 600 / 25 200 = 6/7 (8 h would wrongly give 3/4).
    assert spring["totals"]["calendar_seconds"] == 25200
    assert (spring["kpis"]["availability"], spring["kpis"]["performance"], spring["kpis"]["oee"]) == (
        1.0, f(Fraction(6, 7)), f(Fraction(6, 7)))
    autumn = oee(api, owner, scope="machine", id=m["id"], date="2026-10-24")
    # Clocks fall back 03:00 → 02:00: 20:00Z – 05:00Z is 9 h = 32 400 s; P = 21 600 / 32 400 = 2/3.
    assert autumn["totals"]["calendar_seconds"] == 32400
    assert autumn["kpis"]["oee"] == f(Fraction(2, 3))


def test_breaks_planned_stop_and_a_micro_stop(api, owner, codes) -> None:
    s = new_site(api, owner)
    early = plant.shift(api, owner, s["id"], "Early", "06:00", "14:00", [("10:00", "10:30")])
    m = plant.machine(api, owner, s["id"], cycle=20)
    ref = {"machine_id": m["id"], "shift_id": early["id"], "shift_date": "2026-06-16"}
    post(api, owner, "/api/v1/production/entry", ref | {"good_quantity": 1000})
    post(api, owner, "/api/v1/rejections", ref | {"quantity": 53, "reason_id": codes["STARTUP.WARMUP"]})
    post(api, owner, "/api/v1/downtime", {"machine_id": m["id"], "started_at": "2026-06-16T05:00:00Z",
                                          "ended_at": "2026-06-16T06:00:00Z", "reason_id": codes["PLANNED.MAINTENANCE"]})
    post(api, owner, "/api/v1/downtime", {"machine_id": m["id"], "started_at": "2026-06-16T09:00:00Z",
                                          "ended_at": "2026-06-16T09:01:30Z", "reason_id": codes["MINOR_STOP.JAM"]})
    got = oee(api, owner, scope="machine", id=m["id"], **{"from": "2026-06-16T04:00:00Z", "to": "2026-06-16T12:00:00Z"})
    # 28 800 s − break 1 800 s − planned maintenance 3 600 s = planned busy 23 400 s.
    # The 90 s jam is under the 120 s micro-stop threshold: performance loss, run stays 23 400 s.
    # Ideal 20 s × (1000 + 53) = 21 060 s: P = 21 060 / 23 400 = 9/10;  A = 1;  Q = 1000/1053
    # OEE = 9/10 × 1000/1053 = 100/117 ≈ 0.855
    t, k = got["totals"], got["kpis"]
    assert (t["break_seconds"], t["planned_stop_seconds"], t["planned_busy_seconds"], t["micro_stop_seconds"]) == (
        1800, 3600, 23400, 90)
    assert (t["micro_stop_count"], t["failure_count"], k["mtbf_seconds"]) == (1, 0, None)
    assert (k["availability"], k["performance"], k["oee"]) == (1.0, 0.9, f(Fraction(100, 117)))

    shift = resolve_shift(ShiftPattern("Early", time(6), time(14), ((time(10), time(10, 30)),)), date(2026, 6, 16),
                          "Europe/Berlin")
    engine = machine_kpis(MachineWindow.for_shift(
        shift, ideal_cycle_time=cycle_time(20), good_count=1000, reject_count=53,
        downtime=(DowntimeEvent(utc("2026-06-16T05:00"), utc("2026-06-16T06:00"), planned=True),
                  DowntimeEvent(utc("2026-06-16T09:00"), utc("2026-06-16T09:01:30"), planned=False))),
        KpiPolicy())
    assert k["oee"] == engine.oee


def test_line_rollup_sums_before_dividing(api, owner, codes) -> None:
    s = new_site(api, owner)
    ln = plant.line(api, owner, s["id"])
    early = plant.shift(api, owner, s["id"], "Early", "06:00", "14:00")
    fast = plant.machine(api, owner, s["id"], cycle=10, line_id=ln["id"])
    slow = plant.machine(api, owner, s["id"], cycle=60, line_id=ln["id"])
    ref = {"shift_id": early["id"], "shift_date": "2026-06-17"}
    post(api, owner, "/api/v1/production/entry", ref | {"machine_id": fast["id"], "good_quantity": 2520})
    post(api, owner, "/api/v1/production/entry", ref | {"machine_id": slow["id"], "good_quantity": 200})
    post(api, owner, "/api/v1/rejections", ref | {"machine_id": slow["id"], "quantity": 40,
                                                  "reason_id": codes["DEFECT.SURFACE"]})
    post(api, owner, "/api/v1/downtime", {"machine_id": slow["id"], "started_at": "2026-06-17T06:00:00Z",
                                          "ended_at": "2026-06-17T10:00:00Z", "planned": False})
    got = oee(api, owner, scope="line", id=ln["id"], date="2026-06-17")
    by_code = {row["code"]: row["kpis"]["oee"] for row in got["machines"]}
    # Fast (10 s): 8 h running, 2520 good: A = 1, P = 25 200 / 28 800 = 7/8, Q = 1, OEE = 7/8
    # Slow (60 s): 4 h down, 200 good + 40 rejects: A = 1/2, P = 14 400 / 14 400 = 1, Q = 5/6, OEE = 5/12
    assert by_code == {fast["code"]: 0.875, slow["code"]: f(Fraction(5, 12))}
    # Line sums: planned busy 57 600 s, run 43 200 s, ideal 25 200 + 14 400 = 39 600 s, good 2720 of 2760.
    # A = 3/4, P = 11/12, Q = 68/69, OEE = 187/276 ≈ 0.678 — the mean of the machines' OEEs
    # ((7/8 + 5/12) / 2 = 31/48 ≈ 0.646) would be wrong because the machines differ in size.
    k = got["kpis"]
    assert (k["availability"], k["performance"], k["quality"]) == (0.75, f(Fraction(11, 12)), f(Fraction(68, 69)))
    assert k["oee"] == f(Fraction(187, 276)) and k["oee"] != f(Fraction(31, 48))
    site_wide = oee(api, owner, scope="site", id=s["id"], date="2026-06-17")
    assert site_wide["kpis"] == k and site_wide["totals"] == got["totals"]


def test_monitoring_that_begins_mid_shift_counts_from_the_first_signal(api, owner, app_engine) -> None:
    s = new_site(api, owner, tz="UTC")
    plant.shift(api, owner, s["id"], "Day", "06:00", "14:00")
    m = plant.machine(api, owner, s["id"], cycle=60)
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        # The machine was connected at 10:00 on the first day; it has run ever since, with one stop.
        for state, code, at in (("running", 1, "2026-06-15T10:00"), ("unplanned_stop", 9, "2026-06-15T12:00"),
                                ("running", 1, "2026-06-15T12:30")):
            record_state_change(conn, tenant, m["id"], state, code, utc(at))
        record_counts(conn, tenant, [CountRow(m["id"], utc("2026-06-15T11:00"), 150, 0, "m1"),
                                     CountRow(m["id"], utc("2026-06-16T07:00"), 420, 0, "m2")])
    first = oee(api, owner, scope="machine", id=m["id"], date="2026-06-15")
    # Observed 10:00–14:00 only: planned busy 14 400 s (not 28 800), a 1 800 s stop: run 12 600 s.
    # A = 12 600 / 14 400 = 7/8;  P = 60 × 150 / 12 600 = 5/7;  Q = 1.
    k = first["kpis"]
    assert (k["availability"], k["performance"], k["quality"]) == (0.875, f(Fraction(5, 7)), 1.0)
    assert first["totals"]["planned_busy_seconds"] == 14_400
    # The next day is fully monitored: the whole shift, 28 800 s, all running; P = 60 × 420 / 28 800.
    second = oee(api, owner, scope="machine", id=m["id"], date="2026-06-16")
    assert second["totals"]["planned_busy_seconds"] == 28_800
    assert (second["kpis"]["availability"], second["kpis"]["performance"]) == (1.0, f(Fraction(7, 8)))


def test_a_machine_counts_from_its_registration_or_its_earliest_record(api, owner) -> None:
    s = new_site(api, owner, tz="UTC")
    plant.shift(api, owner, s["id"], "All day", "00:00", "00:00")
    now = datetime.now(UTC)
    new = plant.machine(api, owner, s["id"], cycle=60, name="Registered just now")
    backfilled = plant.machine(api, owner, s["id"], cycle=60, name="Backfilled")
    # An operator books yesterday's 10:00–12:00 for the second one, after registering it today.
    day = (now - timedelta(days=1)).date().isoformat()
    post(api, owner, "/api/v1/production/entry", {"machine_id": backfilled["id"], "good_quantity": 60,
                                                   "started_at": f"{day}T10:00:00Z", "ended_at": f"{day}T12:00:00Z"})
    week = {"from": (now - timedelta(days=7)).isoformat(), "to": now.isoformat()}
    fresh = oee(api, owner, scope="machine", id=new["id"], **week)["totals"]
    # Registered seconds ago: the week before is not its time (not 7 days of "running").
    assert fresh["planned_busy_seconds"] < 600
    old = oee(api, owner, scope="machine", id=backfilled["id"], **week)["totals"]
    since = datetime.fromisoformat(f"{day}T10:00:00+00:00")
    assert old["planned_busy_seconds"] == pytest.approx((now - since).total_seconds(), abs=600)
