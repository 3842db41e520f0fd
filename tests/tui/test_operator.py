"""Operator input end to end: the entries land in the real database (checked via the API)."""

from __future__ import annotations

from textual.widgets import Input, OptionList, Select

from tests.tui.pilot import settle, signed_in, text_of, type_text, until
from tui.screens.operator import OperatorScreen


async def open_operator(pilot, world, machine_code: str) -> OperatorScreen:
    await signed_in(pilot, world.operator.email, world.password)
    await pilot.press("1")
    await until(pilot, lambda: isinstance(pilot.app.screen, OperatorScreen), what="operator screen")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.session.reference is not None and screen.shift is not None, what="shifts")
    await type_text(pilot, machine_code.lower())
    await pilot.press("enter")
    await until(pilot, lambda: screen.machine is not None, what="machine")
    return screen


async def test_good_parts_are_stored(app_factory, world, api):
    app = app_factory()
    machine = world.machines[0]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_operator(pilot, world, machine["code"])
        assert screen.shift.name == "Day"
        await type_text(pilot, "7")
        await pilot.press("enter")
        await until(pilot, lambda: "Saved" in text_of(pilot, "#op-result"), what="saved message")
        assert "7 good" in text_of(pilot, "#op-result")
    r = api.get("/api/v1/production/entry", params={"machine_id": machine["id"]}, headers=world.owner.headers)
    items = r.json()["items"]
    assert [(i["good_quantity"], i["operator_id"]) for i in items] == [(7, world.operator.user_id)]


async def test_scrap_with_reason_is_stored(app_factory, world, api):
    app = app_factory()
    machine = world.machines[1]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_operator(pilot, world, machine["code"])
        await pilot.press("f6")
        quantity = screen.query_one("#scrap-qty", Input)
        await until(pilot, lambda: quantity.has_focus, what="quantity field focused")  # F6 lands before typing
        await type_text(pilot, "3")
        await pilot.press("enter")  # → reason
        reason = screen.query_one("#scrap-reason", Select)
        # The quantity is checked before focus moves on: on a loaded machine that takes a moment.
        await until(pilot, lambda: reason.has_focus, what="reason field focused")
        await pilot.press("enter")  # open the list
        await type_text(pilot, "surface")  # type to search
        await pilot.press("enter")
        await until(pilot, lambda: reason.value is not Select.NULL, what="reason chosen")
        await pilot.press("enter")  # the Save button has focus now
        await until(pilot, lambda: "Saved" in text_of(pilot, "#op-result"), what="saved message")
    r = api.get("/api/v1/rejections", params={"machine_id": machine["id"]}, headers=world.owner.headers)
    (item,) = r.json()["items"]
    reasons = api.get("/api/v1/downtime/reasons", headers=world.owner.headers).json()["items"]
    assert item["quantity"] == 3
    assert {r["id"]: r["code"] for r in reasons}[item["reason_id"]] == "DEFECT.SURFACE"


async def test_open_downtime_gets_its_reason(app_factory, world, api):
    from datetime import UTC, datetime, timedelta

    machine = world.machines[0]
    started = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    r = api.post("/api/v1/downtime", json={"machine_id": machine["id"], "started_at": started, "planned": False},
                 headers=world.owner.headers)
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["needs_reason"] is True
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_operator(pilot, world, machine["code"])
        await pilot.press("f7")
        listing = screen.query_one("#downtime-list", OptionList)
        await until(pilot, lambda: listing.option_count and listing.get_option_at_index(0).id == event["id"],
                    what="downtime listed")
        listing.focus()
        await pilot.press("enter")  # pick the stop → reason
        await pilot.press("enter")
        await type_text(pilot, "jam")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")  # Assign
        await until(pilot, lambda: "Saved" in text_of(pilot, "#op-result"), what="saved message")
        await settle(pilot)
        assert "No stops" in str(listing.get_option_at_index(0).prompt)
    after = api.get(f"/api/v1/downtime/{event['id']}", headers=world.owner.headers).json()
    reasons = api.get("/api/v1/downtime/reasons", headers=world.owner.headers).json()["items"]
    assert after["needs_reason"] is False
    assert {r["id"]: r["code"] for r in reasons}[after["reason_id"]] == "MINOR_STOP.JAM"
