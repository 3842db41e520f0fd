"""OEE against the standard of the part being made: order operations run on machines (rows as the
run endpoints write them), counts from the machine's minute buckets, figures from /kpis/oee over
HTTP, every number worked out by hand below.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert, update

from factoryos.schema.jobs import jobs
from factoryos.schema.orders import operation_runs, order_operations
from factoryos.schema.production import (
    machine_count_buckets,
    machine_state_intervals,
    production_entries,
    rejection_entries,
)
from tests.accounts import Session, new_company
from tests.production import plant

DAY = "2026-06-15"  # a UTC site: the Early shift 06:00–14:00 is 28 800 s, no breaks


def at(hhmmss: str | datetime) -> datetime:
    """A time of DAY (or a datetime as given)."""
    if isinstance(hhmmss, datetime):
        return hhmmss
    return datetime.fromisoformat(f"{DAY}T{hhmmss}").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def owner(api: httpx.Client) -> Session:
    return new_company(api)


@pytest.fixture(scope="module")
def codes(api: httpx.Client, owner: Session) -> dict[str, str]:
    items = api.get("/api/v1/downtime/reasons", params={"limit": 200}, headers=owner.headers).json()["items"]
    return {r["code"]: r["id"] for r in items}


class Floor:
    """Rows of one company written straight into the database, as the run endpoints and the
    connectivity sink write them."""

    def __init__(self, engine: Engine, owner: Session) -> None:
        self.engine, self.tenant = engine, uuid.UUID(owner.tenant_id)

    def operation(self, machine: dict[str, Any], product: str, quantity: int = 1000) -> uuid.UUID:
        with self.engine.begin() as conn:
            job = conn.execute(insert(jobs).values(
                tenant_id=self.tenant, job_number=plant.code("MO"), product=product, quantity=quantity,
                due_date=datetime(2026, 6, 30).date(), machine_id=machine["id"], status="running",
            ).returning(jobs.c.id)).scalar_one()
            return conn.execute(insert(order_operations).values(
                tenant_id=self.tenant, job_id=job, seq=10, name="Moulding", quantity=quantity, status="running",
                machine_id=machine["id"],
            ).returning(order_operations.c.id)).scalar_one()

    def run(self, machine: dict[str, Any], operation: uuid.UUID, start: str | datetime, end: str | None, *,
            cycle: str | None, per_cycle: int = 1, setup_until: str | None = None) -> uuid.UUID:
        with self.engine.begin() as conn:
            return conn.execute(insert(operation_runs).values(
                tenant_id=self.tenant, operation_id=operation, machine_id=machine["id"], started_at=at(start),
                setup_ended_at=at(setup_until) if setup_until else None, ended_at=at(end) if end else None,
                end_kind="completed" if end else None, cycle_seconds=Decimal(cycle) if cycle else None,
                parts_per_cycle=per_cycle,
            ).returning(operation_runs.c.id)).scalar_one()

    def counts(self, machine: dict[str, Any], *buckets: tuple[str, int, int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(machine_count_buckets), [
                {"tenant_id": self.tenant, "machine_id": machine["id"], "minute": at(minute), "good": good,
                 "reject": reject} for minute, good, reject in buckets])

    def running(self, machine: dict[str, Any], start: str, end: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(machine_state_intervals).values(
                tenant_id=self.tenant, machine_id=machine["id"], state="running", started_at=at(start),
                ended_at=at(end)))

    def book_to(self, rejection_id: str, operation: uuid.UUID) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(rejection_entries).where(rejection_entries.c.id == uuid.UUID(rejection_id))
                         .values(operation_id=operation))


def oee(api: httpx.Client, owner: Session, scope: str, id_: str) -> dict[str, Any]:
    r = api.get("/api/v1/kpis/oee", params={"scope": scope, "id": id_, "from": f"{DAY}T06:00:00Z",
                                            "to": f"{DAY}T14:00:00Z"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    return r.json()


def two_products(api: httpx.Client, owner: Session, codes: dict[str, str], floor: Floor, site: dict[str, Any],
                 line: dict[str, Any]) -> dict[str, Any]:
    """A press (own ideal cycle 20 s) that runs product X (10 s) and then product Y (30 s, a
    two-cavity mould) in one shift, signalling `running` all the time."""
    m = plant.machine(api, owner, site["id"], cycle=20, line_id=line["id"])
    floor.running(m, "06:00:00", "14:00:00")
    x, y = floor.operation(m, "X"), floor.operation(m, "Y")
    # Run X from 06:10 to 10:00:40, no setup end given: its changeover lasts until the first minute
    # that counted parts, 06:40. Run Y from 10:00:40 past the shift end, setup declared over at 10:45:40.
    floor.run(m, x, "06:10:00", "10:00:40", cycle="10")
    floor.run(m, y, "10:00:40", "14:30:00", cycle="30", per_cycle=2, setup_until="10:45:40")
    floor.counts(m,
                 ("06:05:00", 30, 0),    # before any run: the machine's own 20 s
                 ("06:40:00", 540, 0),   # X
                 ("08:00:00", 530, 20),  # X
                 ("10:00:00", 10, 0),    # midpoint 10:00:30, before X ended at 10:00:40: X
                 ("11:00:00", 300, 0),   # Y
                 ("12:30:00", 290, 10))  # Y
    r = api.post("/api/v1/rejections", json={"machine_id": m["id"], "shift_id": site["early"], "shift_date": DAY,
                                              "quantity": 4, "reason_id": codes["DEFECT.DIMENSION"],
                                              "occurred_at": f"{DAY}T13:00:00Z"}, headers=owner.headers)
    assert r.status_code == 201, r.text
    floor.book_to(r.json()["id"], y)  # scrap booked to Y's operation: counted at Y's standard
    return m


def mould(api: httpx.Client, owner: Session, floor: Floor, site: dict[str, Any], line: dict[str, Any]) -> dict:
    """A two-cavity mould: 40 s a cycle, two parts a cycle; the machine's own figure is 60 s a part."""
    m = plant.machine(api, owner, site["id"], cycle=60, line_id=line["id"])
    floor.running(m, "06:00:00", "14:00:00")
    floor.run(m, floor.operation(m, "Z"), "06:00:00", None, cycle="40", per_cycle=2, setup_until="06:20:00")
    floor.counts(m, ("07:00:00", 600, 0), ("09:00:00", 400, 0))
    return m


@pytest.fixture(scope="module", params=[False, True], ids=["setup-loss", "setup-planned"])
def shop(request, api, owner, codes, superuser_engine) -> dict[str, Any]:
    setup_is_planned = request.param
    site = plant.site(api, owner, timezone="UTC", setup_is_planned=setup_is_planned)
    site["early"] = plant.shift(api, owner, site["id"], "Early", "06:00", "14:00")["id"]
    plant.operator(api, owner, site["id"], owner.user_id)
    line = plant.line(api, owner, site["id"])
    floor = Floor(superuser_engine, owner)
    press = two_products(api, owner, codes, floor, site, line)
    return {"planned": setup_is_planned, "site": site, "line": line, "press": press,
            "mould": mould(api, owner, floor, site, line)}


def test_performance_is_measured_against_each_products_standard(api, owner, shop) -> None:
    t, k = (got := oee(api, owner, "machine", shop["press"]["id"]))["totals"], got["kpis"]
    # Counts: good 30 + 540 + 530 + 10 + 300 + 290 = 1 700; rejects 20 + 10 + 4 = 34; total 1 734.
    # Ideal: outside any run 30 × 20 s = 600 s; X 1 100 parts × 10 s = 11 000 s;
    #        Y (300 + 300 + 4) = 604 parts × 30 s ÷ 2 = 9 060 s.      Σ = 20 660 s
    # (the machine's own 20 s for every part would be 34 680 s: performance above 1).
    assert (t["good_count"], t["reject_count"], t["ideal_seconds"]) == (1700, 34, 20660)
    # Setup: X 06:10–06:40 = 1 800 s, Y 10:00:40–10:45:40 = 2 700 s: 4 500 s.
    if shop["planned"]:
        # Planned stops 4 500 s: planned busy 24 300 s = run. A = 1.
        assert (t["planned_stop_seconds"], t["setup_seconds"], t["run_seconds"]) == (4500, 0, 24300)
        assert k["availability"] == 1.0
    else:
        # Setup loss 4 500 s: planned busy 28 800 s, run 24 300 s. A = 24 300 / 28 800 = 27/32.
        assert (t["planned_stop_seconds"], t["setup_seconds"], t["run_seconds"]) == (0, 4500, 24300)
        assert k["availability"] == float(Fraction(27, 32))
    # P = 20 660 / 24 300 = 1 033/1 215; Q = 1 700 / 1 734 = 850/867. Setup is never a failure.
    assert k["performance"] == float(Fraction(20660, 24300))
    assert k["quality"] == float(Fraction(1700, 1734))
    assert t["failure_count"] == 0


def test_a_two_cavity_mould_makes_two_parts_per_cycle(api, owner, shop) -> None:
    t, k = (got := oee(api, owner, "machine", shop["mould"]["id"]))["totals"], got["kpis"]
    # 1 000 parts from 500 cycles of 40 s: ideal 20 000 s (not 40 000 s, nor the machine's 60 000 s).
    # Setup 06:00–06:20 = 1 200 s; run 28 800 − 1 200 = 27 600 s; P = 20 000 / 27 600 = 50/69.
    assert (t["total_count"], t["ideal_seconds"], t["run_seconds"]) == (1000, 20000, 27600)
    assert k["performance"] == float(Fraction(50, 69))
    assert t["setup_seconds" if not shop["planned"] else "planned_stop_seconds"] == 1200


@pytest.mark.parametrize("scope", ["line", "site"])
def test_line_and_site_sum_then_divide(api, owner, shop, scope) -> None:
    got = oee(api, owner, scope, shop[scope]["id"])
    t, k = got["totals"], got["kpis"]
    # Press: ideal 20 660 s, setup 4 500 s, good 1 700, total 1 734; mould: 20 000 s, 1 200 s, 1 000, 1 000.
    # Sums: planned busy 57 600 s (setup loss) or 57 600 − 5 700 = 51 900 s (planned); run 51 900 s either way;
    # ideal 40 660 s; good 2 700; total 2 734.
    busy = 51900 if shop["planned"] else 57600
    assert (t["planned_busy_seconds"], t["run_seconds"], t["ideal_seconds"]) == (busy, 51900, 40660)
    assert (t["good_count"], t["total_count"]) == (2700, 2734)
    # OEE = ideal × good / (planned busy × total), divided once.
    assert k["oee"] == pytest.approx(float(Fraction(40660 * 2700, busy * 2734)), rel=1e-12)
    assert k["performance"] == float(Fraction(40660, 51900))
    per_machine = {m["machine_id"]: m["kpis"]["performance"] for m in got["machines"]}
    # Not the mean of the machines' ratios (1 033/1 215 and 50/69 average to 0.7874…, the sum gives 0.7834…).
    assert k["performance"] != pytest.approx(sum(per_machine.values()) / 2, rel=1e-6)


def test_entries_count_at_their_operations_standard_and_end_its_changeover(api, owner, superuser_engine) -> None:
    # A machine without signals (own ideal cycle 30 s) on a site that counts setup as a loss.
    site = plant.site(api, owner, timezone="UTC", setup_is_planned=False)
    early = plant.shift(api, owner, site["id"], "Early", "06:00", "14:00")
    plant.operator(api, owner, site["id"], owner.user_id)
    m = plant.machine(api, owner, site["id"], cycle=30)
    floor = Floor(superuser_engine, owner)
    w = floor.operation(m, "W")
    floor.run(m, w, "06:00:00", "11:00:00", cycle="15")  # no setup end given
    ref = {"machine_id": m["id"], "shift_id": early["id"], "shift_date": DAY}
    ids = []
    for start, end, good in (("07:00", "09:00", 200), ("12:00", "13:00", 100)):
        r = api.post("/api/v1/production/entry", json=ref | {"good_quantity": good, "started_at": f"{DAY}T{start}:00Z",
                                                             "ended_at": f"{DAY}T{end}:00Z"}, headers=owner.headers)
        assert r.status_code == 201, r.text
        ids.append(uuid.UUID(r.json()["id"]))
    with superuser_engine.begin() as conn:  # the first booked to W, the second to nothing (after W ended)
        conn.execute(update(production_entries).where(production_entries.c.id == ids[0]).values(operation_id=w))
        conn.execute(update(production_entries).where(production_entries.c.id == ids[1]).values(operation_id=None))
    t, k = (got := oee(api, owner, "machine", m["id"]))["totals"], got["kpis"]
    # Setup: W's changeover 06:00 until its first entry began, 07:00: 3 600 s; run 28 800 − 3 600 = 25 200 s.
    # Ideal: 200 at W's 15 s = 3 000 s, 100 outside any run at the machine's 30 s = 3 000 s: 6 000 s.
    # P = 6 000 / 25 200 = 5/21 (all at 30 s it would be 9 000 s).
    assert (t["setup_seconds"], t["run_seconds"], t["ideal_seconds"], t["good_count"]) == (3600, 25200, 6000, 300)
    assert k["performance"] == float(Fraction(5, 21))
