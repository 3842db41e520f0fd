"""Setup entered by hand follows the site's `setup_is_planned`, like setup from machine
signals, and is never a failure (MTBF/MTTR). Through the real API: /downtime, then /kpis/oee.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from fractions import Fraction

import httpx
import pytest

from factoryos.kpi import (
    DowntimeEvent,
    KpiPolicy,
    MachineState,
    MachineWindow,
    ShiftPattern,
    StateInterval,
    cycle_time,
    machine_kpis,
    resolve_shift,
)
from tests.accounts import Session, new_company
from tests.production import plant
from tests.production.plant import problem

DAY = "2026-06-15"  # Berlin is UTC+2: the 06:00–14:00 shift is 04:00Z–12:00Z, 28 800 s


@pytest.fixture(scope="module")
def owner(api: httpx.Client) -> Session:
    return new_company(api)


@pytest.fixture(scope="module")
def codes(api: httpx.Client, owner: Session) -> dict[str, str]:
    items = api.get("/api/v1/downtime/reasons", params={"limit": 200}, headers=owner.headers).json()["items"]
    return {r["code"]: r["id"] for r in items}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def downtime(api: httpx.Client, owner: Session, machine: dict, start: str, end: str, reason: str,
             **extra: object) -> httpx.Response:
    return api.post("/api/v1/downtime", json={"machine_id": machine["id"], "started_at": f"{DAY}T{start}:00Z",
                                              "ended_at": f"{DAY}T{end}:00Z", "reason_id": reason} | extra,
                    headers=owner.headers)


def shift_with_setup(api: httpx.Client, owner: Session, codes: dict[str, str], *, setup_is_planned: bool,
                     ) -> tuple[dict, dict]:
    """A shift with 1 h of changeover (sent as planned when the site plans setup), 30 min of
    adjustment (planned left out), a 1 h breakdown, and 600 good parts at 30 s."""
    site = plant.site(api, owner, setup_is_planned=setup_is_planned)
    plant.operator(api, owner, site["id"], owner.user_id)
    early = plant.shift(api, owner, site["id"], "Early", "06:00", "14:00")
    m = plant.machine(api, owner, site["id"], cycle=30)

    # The planned flag must agree with the site: setup is what the site says it is.
    problem(downtime(api, owner, m, "05:00", "06:00", codes["SETUP.CHANGEOVER"], planned=not setup_is_planned),
            422, "planned_mismatch", "planned")
    extra = {"planned": True} if setup_is_planned else {}
    changeover = downtime(api, owner, m, "05:00", "06:00", codes["SETUP.CHANGEOVER"], **extra)
    assert changeover.status_code == 201, changeover.text
    adjustment = downtime(api, owner, m, "07:00", "07:30", codes["SETUP.ADJUSTMENT"])
    assert adjustment.status_code == 201, adjustment.text
    assert changeover.json()["planned"] is adjustment.json()["planned"] is setup_is_planned
    assert downtime(api, owner, m, "09:00", "10:00", codes["BREAKDOWN.ELECTRICAL"]).status_code == 201
    r = api.post("/api/v1/production/entry", json={"machine_id": m["id"], "shift_id": early["id"], "shift_date": DAY,
                                                   "good_quantity": 600}, headers=owner.headers)
    assert r.status_code == 201, r.text
    r = api.get("/api/v1/kpis/oee", params={"scope": "machine", "id": m["id"], "from": f"{DAY}T04:00:00Z",
                                            "to": f"{DAY}T12:00:00Z"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    return m, r.json()


def engine_oee(setup_is_planned: bool) -> float:
    """The engine fed the same records, the setup as machine-signalled setup."""
    shift = resolve_shift(ShiftPattern("Early", time(6), time(14)), date(2026, 6, 15), "Europe/Berlin")
    window = MachineWindow.for_shift(
        shift, ideal_cycle_time=cycle_time(30), good_count=600,
        states=(StateInterval(utc(f"{DAY}T05:00"), utc(f"{DAY}T06:00"), MachineState.SETUP),
                StateInterval(utc(f"{DAY}T07:00"), utc(f"{DAY}T07:30"), MachineState.SETUP)),
        downtime=(DowntimeEvent(utc(f"{DAY}T09:00"), utc(f"{DAY}T10:00"), planned=False),))
    return machine_kpis(window, KpiPolicy(setup_is_planned=setup_is_planned)).oee


def test_setup_entered_by_hand_is_planned_on_a_site_that_plans_setup(api, owner, codes) -> None:
    _, got = shift_with_setup(api, owner, codes, setup_is_planned=True)
    # Planned stops: setup 3 600 + 1 800 = 5 400 s; planned busy 28 800 − 5 400 = 23 400 s.
    # The breakdown (3 600 s) is the only failure: run 19 800 s. Ideal 30 × 600 = 18 000 s.
    # A = 19 800 / 23 400 = 11/13, P = 18 000 / 19 800 = 10/11, Q = 1, OEE = 10/13.
    t, k = got["totals"], got["kpis"]
    assert (t["planned_stop_seconds"], t["setup_seconds"], t["planned_busy_seconds"]) == (5400, 0, 23400)
    assert (t["unplanned_stop_seconds"], t["failure_count"]) == (3600, 1)
    assert (k["availability"], k["performance"], k["oee"]) == (
        float(Fraction(11, 13)), float(Fraction(10, 11)), float(Fraction(10, 13)))
    assert (k["mtbf_seconds"], k["mttr_seconds"]) == (19800, 3600)
    assert k["oee"] == engine_oee(True)


def test_setup_entered_by_hand_is_a_setup_loss_but_no_failure_otherwise(api, owner, codes) -> None:
    _, got = shift_with_setup(api, owner, codes, setup_is_planned=False)
    # No planned stops: planned busy 28 800 s. Setup loss 5 400 s, breakdown 3 600 s: run 19 800 s.
    # A = 19 800 / 28 800 = 11/16, P = 10/11, OEE = 18 000 / 28 800 = 5/8. One failure, not three.
    t, k = got["totals"], got["kpis"]
    assert (t["planned_stop_seconds"], t["setup_seconds"], t["planned_busy_seconds"]) == (0, 5400, 28800)
    assert (t["unplanned_stop_seconds"], t["failure_count"]) == (3600, 1)
    assert (k["availability"], k["performance"], k["oee"]) == (
        float(Fraction(11, 16)), float(Fraction(10, 11)), float(Fraction(5, 8)))
    assert (k["mtbf_seconds"], k["mttr_seconds"]) == (19800, 3600)
    assert k["oee"] == engine_oee(False)


def test_a_reason_given_later_follows_the_site_too(api, owner, codes) -> None:
    site = plant.site(api, owner, setup_is_planned=True)
    m = plant.machine(api, owner, site["id"])
    r = api.post("/api/v1/downtime", json={"machine_id": m["id"], "started_at": f"{DAY}T05:00:00Z",
                                           "ended_at": f"{DAY}T05:20:00Z", "planned": False}, headers=owner.headers)
    assert r.status_code == 201 and r.json()["needs_reason"] is True
    r = api.post(f"/api/v1/downtime/{r.json()['id']}/reason", json={"reason_id": codes["SETUP.MATERIAL"]},
                headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["planned"], r.json()["needs_reason"]) == (True, False)
