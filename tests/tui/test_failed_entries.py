"""The offline queue keeps the shift the operator chose, and entries the server refuses stay in
sight (Failed entries, F8) until they are fixed, resent or discarded. Real server, real database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from textual.widgets import DataTable, Select

from server.app import create_app
from tests.conftest import LiveServer, duty_claim, free_port
from tests.tui.pilot import fill, settle, signed_in, text_of, type_text, until
from tui.screens.confirm import Confirm
from tui.screens.failed_entries import FailedEntriesScreen
from tui.screens.operator import OperatorScreen


def yesterday() -> str:
    return (datetime.now(UTC) - timedelta(days=1)).date().isoformat()


async def open_operator(pilot, world, machine_code: str) -> OperatorScreen:
    await signed_in(pilot, world.operator.email, world.password)
    await pilot.press("1")
    await until(pilot, lambda: isinstance(pilot.app.screen, OperatorScreen), what="operator screen")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.shift is not None, what="shifts")
    await type_text(pilot, machine_code)
    await pilot.press("enter")
    await until(pilot, lambda: screen.machine is not None, what="machine")
    return screen


async def choose_yesterdays_shift(pilot, screen: OperatorScreen) -> None:
    """F2, open the list, one up from the running shift (the plant's shift lasts 24 h)."""
    await pilot.press("f2")
    await until(pilot, lambda: screen.query_one("#shift-select", Select).has_focus, what="shift list focused")
    await pilot.press("enter", "up", "enter")
    await until(pilot, lambda: screen.shift.local_date.isoformat() == yesterday(), what="yesterday's shift")
    await pilot.press("f5")
    await pilot.pause()


async def queue_good(pilot, screen: OperatorScreen, quantity: str, machine_code: str | None = None) -> None:
    if machine_code is not None:
        await fill(pilot, "#machine-code", machine_code)
        await pilot.press("enter")
        await until(pilot, lambda: screen.machine.code == machine_code, what="machine")
    await fill(pilot, "#good-qty", quantity)
    await pilot.press("enter")
    await until(pilot, lambda: f"{quantity} good" in text_of(pilot, "#op-result"), what="queued")
    assert "Queued" in text_of(pilot, "#op-result")


def entries(api, world, machine) -> list[dict]:
    r = api.get("/api/v1/production/entry", params={"machine_id": machine["id"]}, headers=world.owner.headers)
    return r.json()["items"]


def shift_window(api, world) -> dict:
    day = yesterday()
    r = api.get("/api/v1/shifts/instances", params={"site_id": world.site["id"], "from": day, "to": day},
                headers=world.owner.headers)
    (instance,) = r.json()
    return instance


async def test_entry_for_a_past_shift_queued_offline_arrives_once_in_that_shift(
        app_factory, world, api, settings, db_urls, authenticator, tmp_path):
    port = free_port()
    own = LiveServer(create_app(settings, db_urls.app, authenticator=authenticator, duties=duty_claim(db_urls.app)), port).start()
    machine = world.machines[0]
    app = app_factory(server=own.url, drain_seconds=0.3)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_operator(pilot, world, machine["code"])
            await choose_yesterdays_shift(pilot, screen)
            own.stop()
            await queue_good(pilot, screen, "5")
            (queued,) = [json.loads(p.read_text()) for p in (tmp_path / "outbox").rglob("*.json")]
            assert queued["meta"]["shift"]["local_date"] == yesterday()

            own = LiveServer(create_app(settings, db_urls.app, authenticator=authenticator, duties=duty_claim(db_urls.app)), port).start()
            await until(pilot, lambda: app.queue_length == 0, timeout=20, what="queue drained")
            assert app.failed_count == 0 and "Failed" not in text_of(pilot, "#status")
            # The same call again (a drain that lost the answer) is replayed, not stored twice.
            r = await app.session.api.t.call("POST", queued["path"], json=queued["body"],
                                              idempotency_key=queued["key"])
            assert r.headers.get("idempotent-replayed") == "true"
    finally:
        own.stop()
    window = shift_window(api, world)
    (entry,) = entries(api, world, machine)
    assert entry["good_quantity"] == 5
    assert entry["shift_instance_id"] == window["id"]
    assert entry["started_at"][:19] == window["starts_at"][:19] and entry["ended_at"][:19] == window["ends_at"][:19]


async def test_refused_entries_are_listed_fixed_resent_and_discarded(
        app_factory, world, api, settings, db_urls, authenticator):
    port = free_port()
    own = LiveServer(create_app(settings, db_urls.app, authenticator=authenticator, duties=duty_claim(db_urls.app)), port).start()
    press, lathe = world.machines
    # A supervisor already reported all of yesterday's shift for the lathe (through another server).
    r = api.post("/api/v1/production/entry", headers=world.owner.headers, json={
        "machine_id": lathe["id"], "shift_id": world.shift["id"], "shift_date": yesterday(), "good_quantity": 9})
    assert r.status_code == 201, r.text
    supervisors = r.json()
    app = app_factory(server=own.url, drain_seconds=0.3)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_operator(pilot, world, press["code"])
            await choose_yesterdays_shift(pilot, screen)
            own.stop()
            await queue_good(pilot, screen, "999999999")  # more than the press can make in a day
            await queue_good(pilot, screen, "999999998")
            await queue_good(pilot, screen, "3", lathe["code"])  # nothing left of the shift to report
            own = LiveServer(create_app(settings, db_urls.app, authenticator=authenticator, duties=duty_claim(db_urls.app)), port).start()
            await until(pilot, lambda: app.queue_length == 0 and app.failed_count == 3, timeout=20,
                        what="refused entries")
            assert "Queue 0 · Failed 3" in text_of(pilot, "#status")

            await pilot.press("f8")
            await until(pilot, lambda: isinstance(app.screen, FailedEntriesScreen), what="failed entries")
            failed = app.screen
            table = failed.query_one(DataTable)
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            assert rows[0][0] == press["code"] and rows[0][1].startswith("Day ") and rows[0][2] == "999999999 good"
            assert rows[2][0] == lathe["code"] and rows[2][2] == "3 good"
            assert "More parts than the machine can make in that time (at most 86400000)" in text_of(
                pilot, "#failed-reason")

            # Fix: the form opens prefilled with the shift chosen; a plausible quantity is saved.
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is screen, what="operator screen again")
            assert screen.query_one("#good-qty").value == "999999999"
            assert screen.shift.local_date.isoformat() == yesterday() and screen.machine.code == press["code"]
            await fill(pilot, "#good-qty", "40")
            await pilot.press("enter")
            await until(pilot, lambda: "Saved: 40 good" in text_of(pilot, "#op-result"), what="fix saved")
            assert app.failed_count == 2 and "Failed 2" in text_of(pilot, "#status")

            # Discard asks first; "no" keeps the entry, "yes" removes it.
            await pilot.press("f8")
            await until(pilot, lambda: isinstance(app.screen, FailedEntriesScreen), what="failed entries")
            failed = app.screen
            assert failed.query_one(DataTable).row_count == 2
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, Confirm), what="confirmation")
            await pilot.press("n")
            await until(pilot, lambda: app.screen is failed, what="back to the list")
            assert failed.query_one(DataTable).row_count == 2
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, Confirm), what="confirmation")
            await pilot.press("y")
            await until(pilot, lambda: app.failed_count == 1, what="discarded")
            assert failed.query_one(DataTable).row_count == 1
            assert "Entries already reach past this time" in text_of(pilot, "#failed-reason")

            # Resend unchanged once the supervisor withdrew their entry for the lathe.
            r = api.delete(f"/api/v1/production/entry/{supervisors['id']}", headers=world.owner.headers)
            assert r.status_code == 204, r.text
            await pilot.press("r")
            await until(pilot, lambda: app.failed_count == 0, what="resent")
            await settle(pilot)
            assert "No failed entries" in text_of(pilot, "#failed-reason")
            assert "Failed" not in text_of(pilot, "#status")
    finally:
        own.stop()
    window = shift_window(api, world)  # stored (with its id) since the first entry
    (fixed,) = entries(api, world, press)
    (resent,) = entries(api, world, lathe)
    assert (fixed["good_quantity"], fixed["shift_instance_id"]) == (40, window["id"])
    assert (resent["good_quantity"], resent["shift_instance_id"]) == (3, window["id"])


async def test_failed_files_from_before_are_listed(app_factory, world, api, live_server, tmp_path):
    """Files the previous version parked in `failed/` (no meta, no status) show up and can be discarded."""
    press = world.machines[0]
    server = hashlib.sha256(live_server.url.encode()).hexdigest()[:16]
    folder = tmp_path / "outbox" / server / world.operator.user_id / "failed"
    folder.mkdir(parents=True)
    key = "0b7a4f0e-1111-4c1e-9d7e-3a2b1c0d9e8f"
    old = {"seq": 1, "key": key, "method": "POST", "path": "/production/entry", "label": "5 good · " + press["code"],
           "queued_at": "2024-01-01T10:00:00+00:00",
           "body": {"machine_id": press["id"], "shift_id": world.shift["id"], "shift_date": yesterday(),
                    "good_quantity": 5, "ended_at": datetime.now(UTC).isoformat()},
           "error": {"code": "entry_outside_shift", "detail": "ended_at is after shift Day ends", "field": "ended_at"}}
    (folder / f"{1:020d}-{key}.json").write_text(json.dumps(old))
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_operator(pilot, world, press["code"])
        assert "Failed 1" in text_of(pilot, "#status")
        await pilot.press("f8")
        await until(pilot, lambda: isinstance(app.screen, FailedEntriesScreen), what="failed entries")
        row = [str(c) for c in app.screen.query_one(DataTable).get_row_at(0)]
        assert row[0] == press["code"] and row[1].startswith("Day ") and row[2] == "5 good"
        assert "does not fit in the chosen shift" in text_of(pilot, "#failed-reason")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="confirmation")
        await pilot.press("y")
        await until(pilot, lambda: app.failed_count == 0, what="discarded")
    assert not list(folder.iterdir())
