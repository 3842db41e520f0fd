"""Scrap a machine counted, grouped for an NC: per machine, hour and the order whose run held the
minutes; booked rejections and other companies' counts are not in it (real PostgreSQL, under RLS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import text

from factoryos.db.tenant import tenant_transaction
from factoryos.nonconformances.sources import MachineScrap, machine_scrap
from tests.accounts import new_company
from tests.orders import runs_plant
from tests.production import plant
from tests.quality.support import count_rejects

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _counts(conn, tenant: str, machine: str, minutes: dict[int, tuple[int, int]]) -> None:
    for minute, (good, reject) in minutes.items():
        conn.execute(text("insert into machine_count_buckets (tenant_id, machine_id, minute, good, reject) "
                          "values (:t, :m, :at, :g, :r)"),
                     {"t": tenant, "m": machine, "at": T0 + timedelta(minutes=minute), "g": good, "r": reject})


def test_machine_counted_scrap_is_grouped_per_machine_hour_and_order(http, app_engine) -> None:
    owner = new_company(http)
    site = plant.site(http, owner)
    press, lathe = (plant.machine(http, owner, site["id"]) for _ in range(2))
    mo = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": press["id"]}])
    tenant = UUID(owner.tenant_id)
    # A rejection booked by hand on the lathe is a rejection entry, not machine-counted scrap.
    plant.shift(http, owner, site["id"], "Day", "00:00", "00:00")
    plant.operator(http, owner, site["id"], owner.user_id)
    reasons = http.get("/api/v1/downtime/reasons", headers=owner.headers).json()["items"]
    booked = http.post("/api/v1/rejections", headers=owner.headers, json={
        "machine_id": lathe["id"], "quantity": 9, "reason_id": next(r["id"] for r in reasons if r["code"].startswith("DEFECT")),
        "occurred_at": (T0 + timedelta(minutes=15)).isoformat()})
    assert booked.status_code == 201, booked.text
    with tenant_transaction(app_engine, tenant) as conn:
        product = conn.execute(text("select product_id from jobs where id = :j"), {"j": mo["id"]}).scalar_one()
        # The order ran on the press from 9:30 to 10:15.
        conn.execute(text("insert into operation_runs (tenant_id, operation_id, machine_id, started_at, ended_at, "
                          "end_kind) values (:t, :o, :m, :s, :e, 'completed')"),
                     {"t": tenant, "o": mo["operations"][0], "m": press["id"], "s": T0 + timedelta(minutes=30),
                      "e": T0 + timedelta(minutes=75)})
        _counts(conn, owner.tenant_id, press["id"], {5: (40, 2), 20: (40, 1), 31: (40, 3), 59: (40, 1),
                                                     74: (40, 4), 80: (40, 5), 90: (40, 0)})
        _counts(conn, owner.tenant_id, lathe["id"], {10: (30, 6), 11: (30, 0)})
        found = machine_scrap(conn, tenant, T0, T0 + timedelta(hours=2))
        only_lathe = machine_scrap(conn, tenant, T0, T0 + timedelta(hours=2), UUID(lathe["id"]))
        later = machine_scrap(conn, tenant, T0 + timedelta(hours=1, minutes=30), T0 + timedelta(hours=2))
    p, lt, order = UUID(press["id"]), UUID(lathe["id"]), UUID(mo["id"])
    hour, next_hour = T0, T0 + timedelta(hours=1)
    end = next_hour + timedelta(hours=1)
    assert sorted(found, key=lambda s: (s.start, str(s.machine_id), str(s.order_id))) == sorted([
        MachineScrap(p, hour, next_hour, 3, None, None),  # 9:05 and 9:20, before the run
        MachineScrap(p, hour, next_hour, 4, order, product),  # 9:31 and 9:59, in the run
        MachineScrap(lt, hour, next_hour, 6, None, None),  # not the 9 booked by hand
        MachineScrap(p, next_hour, end, 4, order, product),  # 10:14: its midpoint is still in the run
        MachineScrap(p, next_hour, end, 5, None, None),  # 10:20, after it
    ], key=lambda s: (s.start, str(s.machine_id), str(s.order_id)))
    assert found[0].start == next_hour  # newest hour first
    assert only_lathe == [MachineScrap(lt, hour, next_hour, 6, None, None)]
    assert later == []  # 10:30 had no rejects

    # Over the API, as the Quality screen asks for it (an operator may open NCs).
    answer = http.get("/api/v1/nonconformances/machine-scrap", headers=owner.headers, params={
        "from": T0.isoformat(), "to": (T0 + timedelta(hours=2)).isoformat()})
    assert answer.status_code == 200, answer.text
    assert [(r["machine_id"], r["start"], r["quantity"], r["order_id"]) for r in answer.json()] == [
        (str(s.machine_id), s.start.isoformat().replace("+00:00", "Z"), s.quantity, s.order_id and str(s.order_id))
        for s in found]
    refused = http.get("/api/v1/nonconformances/machine-scrap", headers=owner.headers, params={
        "from": T0.isoformat(), "to": (T0 + timedelta(days=3)).isoformat()})
    assert (refused.status_code, refused.json()["code"]) == (422, "range_too_long")

    other = new_company(http)
    with tenant_transaction(app_engine, UUID(other.tenant_id)) as conn:
        assert machine_scrap(conn, UUID(other.tenant_id), T0, T0 + timedelta(hours=2)) == []
        assert machine_scrap(conn, tenant, T0, T0 + timedelta(hours=2)) == []  # RLS: not even when asked


def test_an_nc_names_the_hour_of_counted_scrap_it_comes_from(http, app_engine) -> None:
    owner = new_company(http)
    site = plant.site(http, owner)
    press, lathe = (plant.machine(http, owner, site["id"]) for _ in range(2))
    mo = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": press["id"]}])
    with tenant_transaction(app_engine, UUID(owner.tenant_id)) as conn:
        conn.execute(text("insert into operation_runs (tenant_id, operation_id, machine_id, started_at, ended_at, "
                          "end_kind) values (:t, :o, :m, :s, :e, 'completed')"),
                     {"t": owner.tenant_id, "o": mo["operations"][0], "m": press["id"], "s": T0,
                      "e": T0 + timedelta(hours=1)})
        _counts(conn, owner.tenant_id, press["id"], {5: (40, 2), 40: (40, 3), 70: (40, 1)})

    def post(body: dict) -> dict:
        return http.post("/api/v1/nonconformances", headers=owner.headers, json=body).json()

    # Any instant of the hour names it; the server fills machine, quantity, order, product and words.
    made = http.post("/api/v1/nonconformances", headers=owner.headers, json={
        "source": "machine_count", "machine_id": press["id"], "source_at": (T0 + timedelta(minutes=12)).isoformat()})
    assert made.status_code == 201, made.text
    nc = made.json()
    assert (nc["source"], nc["source_id"], nc["source_at"]) == ("machine_count", None, "2026-11-03T09:00:00Z")
    assert (float(nc["quantity"]), nc["order_id"], nc["machine_id"]) == (5.0, mo["id"], press["id"])
    assert nc["description"].startswith("Rejects counted by the machine 2026-11-03 ")
    assert http.get(f"/api/v1/nonconformances/{nc['id']}", headers=owner.headers).json()["source_at"] == nc["source_at"]

    # Refused at the field: no scrap that hour, a machine that counted none, no hour, a record id, an hour elsewhere.
    for body, field, code in (
            ({"machine_id": press["id"], "source_at": (T0 + timedelta(hours=3)).isoformat()}, "source_at",
             "machine_scrap_not_found"),
            ({"machine_id": lathe["id"], "source_at": T0.isoformat()}, "source_at", "machine_scrap_not_found"),
            ({"machine_id": press["id"]}, "source_at", "required"),
            ({"source_at": T0.isoformat()}, "machine_id", "required"),
            ({"machine_id": press["id"], "source_at": T0.isoformat(), "source_id": mo["id"]}, "source_id",
             "validation_failed")):
        answer = post({"source": "machine_count", **body})
        assert (answer.get("code"), answer.get("field")) == (code, field), answer
    answer = post({"source": "manual", "machine_id": press["id"], "quantity": 1, "description": "x",
                   "source_at": T0.isoformat()})
    assert (answer.get("code"), answer.get("field")) == ("validation_failed", "source_at")
    other = new_company(http)  # another company's machine: its counts are not there to be found
    answer = http.post("/api/v1/nonconformances", headers=other.headers, json={
        "source": "machine_count", "machine_id": press["id"], "source_at": T0.isoformat()}).json()
    assert answer["code"] in {"machine_scrap_not_found", "machine_not_found"}, answer


def test_counted_scrap_is_grouped_by_each_sites_own_hour(http, app_engine) -> None:
    """Kolkata is UTC+05:30: its hours start at :30 UTC. One query over two sites groups each machine by its
    own site's hour, and an NC named by any instant of a Kolkata hour takes exactly that hour's rejects."""
    owner = new_company(http)
    kolkata, berlin = plant.site(http, owner, "Asia/Kolkata"), plant.site(http, owner, "Europe/Berlin")
    kiln, press = plant.machine(http, owner, kolkata["id"]), plant.machine(http, owner, berlin["id"])
    ten = datetime(2026, 11, 3, 4, 30, tzinfo=UTC)  # 10:00 in Kolkata, 05:30 in Berlin
    minute = timedelta(minutes=1)
    count_rejects(app_engine, owner.tenant_id, kiln["id"], {ten - minute: 1, ten: 2, ten + 30 * minute: 4,
                                                          ten + 59 * minute: 8, ten + HOUR: 16})
    count_rejects(app_engine, owner.tenant_id, press["id"], {ten - minute: 32, ten: 64})  # 05:29 and 05:30 CET
    with tenant_transaction(app_engine, UUID(owner.tenant_id)) as conn:
        found = machine_scrap(conn, UUID(owner.tenant_id), ten - HOUR, ten + 2 * HOUR)
    k, p = UUID(kiln["id"]), UUID(press["id"])
    assert found == [  # newest hour first
        MachineScrap(k, ten + HOUR, ten + 2 * HOUR, 16, None, None),  # 11:00–12:00 IST
        MachineScrap(k, ten, ten + HOUR, 2 + 4 + 8, None, None),  # 10:00, 10:30 and 10:59 IST
        MachineScrap(p, ten - 30 * minute, ten + 30 * minute, 32 + 64, None, None),  # 05:00–06:00 CET
        MachineScrap(k, ten - HOUR, ten, 1, None, None),  # 09:59 IST
    ]
    assert [f"{s.start.astimezone(ZoneInfo(z)):%H:%M}" for s, z in zip(found, ["Asia/Kolkata"] * 2 + [
        "Europe/Berlin", "Asia/Kolkata"], strict=True)] == ["11:00", "10:00", "05:00", "09:00"]

    answer = http.get("/api/v1/nonconformances/machine-scrap", headers=owner.headers, params={
        "from": (ten - HOUR).isoformat(), "to": (ten + 2 * HOUR).isoformat(), "machine_id": kiln["id"]})
    assert answer.status_code == 200, answer.text
    assert [(r["start"], r["end"], r["quantity"]) for r in answer.json()] == [
        ("2026-11-03T05:30:00Z", "2026-11-03T06:30:00Z", 16), ("2026-11-03T04:30:00Z", "2026-11-03T05:30:00Z", 14),
        ("2026-11-03T03:30:00Z", "2026-11-03T04:30:00Z", 1)]

    # 10:45 in Kolkata names the hour 10:00–11:00 there, not the UTC hour 05:00–06:00 (10:30–11:30 IST).
    made = http.post("/api/v1/nonconformances", headers=owner.headers, json={
        "source": "machine_count", "machine_id": kiln["id"], "source_at": "2026-11-03T10:45:00+05:30"})
    assert made.status_code == 201, made.text
    nc = made.json()
    assert (nc["source_at"], float(nc["quantity"])) == ("2026-11-03T04:30:00Z", 14.0)
    assert nc["description"] == "Rejects counted by the machine 2026-11-03 10:00–11:00 (Asia/Kolkata)"


def test_a_dst_night_at_a_berlin_site_has_a_row_per_hour_of_its_clock(http, app_engine) -> None:
    """The night summer time ends has 25 hours in Berlin, 02:00 twice (CEST, then CET): a row each, the NC
    names which; the night it starts has 23, no 02:00."""
    owner = new_company(http)
    site = plant.site(http, owner, "Europe/Berlin")
    press = plant.machine(http, owner, site["id"])
    zone = ZoneInfo("Europe/Berlin")
    autumn = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # 2026-10-25 00:00 CEST
    spring = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 2026-03-29 00:00 CET
    for day, hours in ((autumn, 25), (spring, 23)):
        count_rejects(app_engine, owner.tenant_id, press["id"], {day + i * HOUR + timedelta(minutes=20): i + 1
                                                                 for i in range(hours)})
    with tenant_transaction(app_engine, UUID(owner.tenant_id)) as conn:
        long_day = machine_scrap(conn, UUID(owner.tenant_id), autumn, autumn + 25 * HOUR)
        short_day = machine_scrap(conn, UUID(owner.tenant_id), spring, spring + 23 * HOUR)

    def clock(rows: list[MachineScrap]) -> list[tuple[str, str, int]]:
        return [(f"{s.start.astimezone(zone):%H:%M}", f"{s.start.astimezone(zone):%Z}", s.quantity)
                for s in reversed(rows)]

    assert clock(long_day) == [("00:00", "CEST", 1), ("01:00", "CEST", 2), ("02:00", "CEST", 3),
                               ("02:00", "CET", 4)] + [(f"{h:02}:00", "CET", h + 2) for h in range(3, 24)]
    assert clock(short_day) == [("00:00", "CET", 1), ("01:00", "CET", 2)] + [
        (f"{h:02}:00", "CEST", h) for h in range(3, 24)]
    assert all(s.end - s.start == HOUR for s in long_day + short_day)

    def nc(source_at: str) -> dict:
        made = http.post("/api/v1/nonconformances", headers=owner.headers, json={
            "source": "machine_count", "machine_id": press["id"], "source_at": source_at})
        assert made.status_code == 201, made.text
        return made.json()

    summer, winter = nc("2026-10-25T02:30:00+02:00"), nc("2026-10-25T02:30:00+01:00")
    assert (summer["source_at"], float(summer["quantity"])) == ("2026-10-25T00:00:00Z", 3.0)
    assert (winter["source_at"], float(winter["quantity"])) == ("2026-10-25T01:00:00Z", 4.0)
    assert summer["description"].endswith("2026-10-25 02:00 CEST–02:00 CET (Europe/Berlin)")
    assert winter["description"].endswith("2026-10-25 02:00 CET–03:00 (Europe/Berlin)")
