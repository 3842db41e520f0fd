"""Plans fall due from the machine's own data: run hours from its `running` intervals, cycles
from its counters, as the poller writes them; the due list then makes the preventive order."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from tests.maintenance import support as s
from tests.production import plant


def test_a_run_hour_plan_falls_due_after_the_machine_ran_the_set_time(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    t0 = s.ago(hours=6)
    # Every 2 run hours, warned half an hour before; counted from t0 (the last service).
    p = s.plan(api, owner, asset["id"], every_run_hours=2, lead_run_hours=0.5, last_done_at=t0.isoformat(),
               checklist=[{"task": "Grease the guides"}, {"task": "Check the hydraulic oil"}])
    # Before t0 the machine ran 1 h: that was before the last service and does not count.
    s.states(app_engine, owner, m["id"], ("running", t0 - s.timedelta(hours=1)), ("unplanned_stop", t0))
    assert s.trigger(s.get_plan(api, owner, p["id"]), "run_hours")["used"] == 0

    # 1 h running, 30 min stopped: 1 h of 2 used.
    s.states(app_engine, owner, m["id"], ("running", t0 + s.timedelta(minutes=30)),
             ("unplanned_stop", t0 + s.timedelta(minutes=90)), ("running", t0 + s.timedelta(minutes=120)),
             ("idle", t0 + s.timedelta(minutes=150)))
    got = s.get_plan(api, owner, p["id"])
    run = s.trigger(got, "run_hours")
    # running 0:30–1:30 and 2:00–2:30 = 1.5 h; 0.5 h left, within the lead: soon.
    assert (run["used"], run["remaining"], got["state"]) == (1.5, 0.5, "soon")
    assert s.ok(api.get(f"{s.BASE}/work-orders", headers=owner.headers, params={"asset_id": asset["id"]}))["items"] == []

    # It runs another 30 min: 2 h reached, due; reading the due list makes the preventive order.
    s.states(app_engine, owner, m["id"], ("running", t0 + s.timedelta(minutes=180)),
             ("unplanned_stop", t0 + s.timedelta(minutes=210)))
    due = s.ok(api.get(f"{s.BASE}/due", headers=owner.headers))
    mine = [d for d in due if d["id"] == p["id"]]
    assert len(mine) == 1 and mine[0]["state"] == "due" and mine[0]["open_work_order_id"] is not None
    wo = s.ok(api.get(f"{s.BASE}/work-orders/{mine[0]['open_work_order_id']}", headers=owner.headers))
    assert (wo["kind"], wo["status"], wo["trigger"], wo["plan_id"]) == ("preventive", "approved", "run_hours", p["id"])
    assert [c["task"] for c in wo["checklist"]] == ["Grease the guides", "Check the hydraulic oil"]
    # Reading again makes no second order for the same plan.
    s.ok(api.get(f"{s.BASE}/due", headers=owner.headers))
    orders = s.ok(api.get(f"{s.BASE}/work-orders", headers=owner.headers, params={"asset_id": asset["id"]}))["items"]
    assert [o["id"] for o in orders] == [wo["id"]]


def test_a_cycle_plan_falls_due_after_n_cycles(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    t0 = s.ago(hours=3)
    s.counts(app_engine, owner, m["id"], (t0 - s.timedelta(minutes=30), 500, 0))  # before the last service
    p = s.plan(api, owner, asset["id"], every_cycles=100, lead_cycles=10, last_done_at=t0.isoformat())
    s.counts(app_engine, owner, m["id"], (t0 + s.timedelta(minutes=5), 50, 2), (t0 + s.timedelta(minutes=6), 30, 0))
    c = s.trigger(s.get_plan(api, owner, p["id"]), "cycles")
    assert (c["used"], c["remaining"], c["state"]) == (82, 18, "ok")  # good and reject parts both cycle the press
    s.counts(app_engine, owner, m["id"], (t0 + s.timedelta(minutes=7), 10, 0))
    assert s.trigger(s.get_plan(api, owner, p["id"]), "cycles")["state"] == "soon"
    s.counts(app_engine, owner, m["id"], (t0 + s.timedelta(minutes=8), 8, 0))
    got = s.get_plan(api, owner, p["id"])
    assert (s.trigger(got, "cycles")["used"], got["state"]) == (100, "due")
    # The asset's own counter: everything counted (582 + 18 = 600).
    assert s.ok(api.get(f"{s.BASE}/assets/{asset['id']}", headers=owner.headers))["usage"]["cycles"] == 600
    orders = s.ok(api.get(f"{s.BASE}/work-orders", headers=owner.headers, params={"asset_id": asset["id"]}))["items"]
    assert [(o["kind"], o["trigger"]) for o in orders] == [("preventive", "cycles")]


def test_a_calendar_plan_on_a_weekday(api, owner) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    p = s.plan(api, owner, asset["id"], every_weeks=2, weekday=1, lead_days=3)
    cal = s.trigger(p, "calendar")
    due = s.datetime.fromisoformat(cal["due_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert (due.isoweekday(), due.hour, due.minute) == (1, 0, 0)  # a Monday, midnight on the site's clock
    assert 14 <= cal["interval"] < 21 and cal["state"] == "ok"


def test_bad_plans_are_refused_with_the_field(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    url = f"{s.BASE}/plans"
    base = {"asset_id": asset["id"], "name": "Service"}
    for body, code, field in (
        ({"every_run_hours": 0}, "interval_not_positive", "every_run_hours"),
        ({"every_cycles": -5}, "interval_not_positive", "every_cycles"),
        ({"every_days": 0}, "interval_not_positive", "every_days"),
        ({"every_days": 7, "estimated_minutes": 0}, "interval_not_positive", "estimated_minutes"),
        ({"every_days": 7, "every_weeks": 1}, "calendar_conflict", "every_weeks"),
        ({"every_days": 7, "weekday": 3}, "invalid_weekday", "weekday"),
        ({}, "plan_needs_trigger", "every_days"),
    ):
        plant.problem(api.post(url, headers=owner.headers, json=base | body), 422, code, field)
    # A first due point below the asset's current count.
    s.counts(app_engine, owner, m["id"], (s.ago(minutes=10), 400, 0))
    body = plant.problem(api.post(url, headers=owner.headers, json=base | {"every_cycles": 1000,
                                                                          "next_due_cycles": 350}),
                         422, "count_below_current", "next_due_cycles")
    assert body["current"] == 400
    p = s.plan(api, owner, asset["id"], every_cycles=1000, next_due_cycles=450)
    assert s.trigger(p, "cycles")["remaining"] == 50
    plant.problem(api.patch(f"{url}/{p['id']}", headers=owner.headers, json={"every_cycles": 0}),
                  422, "interval_not_positive", "every_cycles")


def test_a_mould_counts_its_cycles_only_while_mounted(api, owner, app_engine) -> None:
    a, b = s.machine(api, owner), s.machine(api, owner)
    mould = s.ok(api.post(f"{s.BASE}/assets", headers=owner.headers, json={
        "kind": "mould", "name": "Cover mould", "movable": True, "cycles_offset": 180_000}), 201)
    t0 = s.ago(hours=3)
    url = f"{s.BASE}/assets/{mould['id']}/mount"
    s.ok(api.post(url, headers=owner.headers, json={"machine_id": a["id"], "at": t0.isoformat()}))
    s.ok(api.post(url, headers=owner.headers, json={"machine_id": b["id"],
                                                    "at": (t0 + s.timedelta(hours=2)).isoformat()}))
    plant.problem(api.post(url, headers=owner.headers, json={"machine_id": a["id"], "at": t0.isoformat()}),
                  422, "mount_time_invalid", "at")
    # On A: 100 while mounted (t0+1h), 50 after it left (t0+2h30). On B: 70 before (t0+1h), 30 after (t0+2h30).
    s.counts(app_engine, owner, a["id"], (t0 + s.timedelta(hours=1), 100, 0),
             (t0 + s.timedelta(hours=2, minutes=30), 50, 0))
    s.counts(app_engine, owner, b["id"], (t0 + s.timedelta(hours=1), 70, 0),
             (t0 + s.timedelta(hours=2, minutes=30), 25, 5))
    got = s.ok(api.get(f"{s.BASE}/assets/{mould['id']}", headers=owner.headers))
    assert (got["mounted_on"], got["usage"]["cycles"]) == (b["id"], 180_000 + 100 + 30)
    # A plan on the mould's own counter: first due at 180 200 shots, 70 to go.
    p = s.plan(api, owner, mould["id"], every_cycles=50_000, next_due_cycles=180_200)
    assert s.trigger(p, "cycles")["remaining"] == 70
