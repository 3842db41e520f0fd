"""Entries made while the server is down wait on disk and are sent in order when it is back."""

from __future__ import annotations

import json

from server.app import create_app
from tests.conftest import LiveServer, duty_claim, free_port
from tests.tui.pilot import signed_in, text_of, type_text, until
from tui.screens.operator import OperatorScreen


async def test_queue_drains_after_the_server_returns(app_factory, world, api, settings, db_urls, authenticator,
                                                     tmp_path):
    port = free_port()
    own = LiveServer(create_app(settings, db_urls.app, authenticator=authenticator, duties=duty_claim(db_urls.app)), port).start()
    machine = world.machines[0]
    app = app_factory(server=own.url, drain_seconds=0.3)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await signed_in(pilot, world.operator.email, world.password)
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, OperatorScreen), what="operator screen")
            screen = app.screen
            await until(pilot, lambda: screen.shift is not None, what="shifts")
            await type_text(pilot, machine["code"])
            await pilot.press("enter")
            await until(pilot, lambda: screen.machine is not None, what="machine")

            own.stop()
            for quantity in ("2", "3"):
                await type_text(pilot, quantity)
                await pilot.press("enter")
                await until(pilot, lambda q=quantity: f"{q} good" in text_of(pilot, "#op-result"), what="queued")
            assert "Queued" in text_of(pilot, "#op-result")
            assert app.queue_length == 2 and not app.online
            assert "OFFLINE" in text_of(pilot, "#status") and "Queue 2" in text_of(pilot, "#status")
            files = sorted(p for p in (tmp_path / "outbox").rglob("*.json") if p.parent.name != "failed")
            bodies = [json.loads(p.read_text()) for p in files]
            assert [b["body"]["good_quantity"] for b in bodies] == [2, 3]
            assert all(b["body"]["ended_at"] and len(b["key"]) == 36 for b in bodies)

            own = LiveServer(create_app(settings, db_urls.app, authenticator=authenticator, duties=duty_claim(db_urls.app)), port).start()
            await until(pilot, lambda: app.queue_length == 0, timeout=20, what="queue drained")
            assert "Queue 0" in text_of(pilot, "#status")
            assert not [p for p in (tmp_path / "outbox").rglob("*.json")]
    finally:
        own.stop()
    r = api.get("/api/v1/production/entry", params={"machine_id": machine["id"]}, headers=world.owner.headers)
    items = sorted(r.json()["items"], key=lambda i: i["started_at"])
    assert [i["good_quantity"] for i in items] == [2, 3]
    assert [i["ended_at"][:19] for i in items] == [b["body"]["ended_at"][:19] for b in bodies]
