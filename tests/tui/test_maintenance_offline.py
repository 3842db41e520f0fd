"""The maintenance screen says once that the server is gone, not at every poll."""

from __future__ import annotations

import asyncio

from server.app import create_app
from tests.conftest import LiveServer, duty_claim, free_port
from tests.tui.pilot import notes, signed_in, until
from tui.screens.maintenance import MaintenanceScreen


async def test_one_notice_while_the_server_is_down(app_factory, world, settings, db_urls, authenticator):
    port = free_port()
    own = LiveServer(create_app(settings, db_urls.app, authenticator=authenticator, duties=duty_claim(db_urls.app)), port).start()
    app = app_factory(server=own.url, poll_seconds=0.2)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await signed_in(pilot, world.owner.email, world.password)
            await pilot.press("9")
            await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen), what="maintenance")
            await until(pilot, lambda: "Open work orders" in str(app.screen.query_one("#mt-orders-title").render()),
                        what="first poll")
            own.stop()
            await until(pilot, lambda: not app.online, what="offline")
            await asyncio.sleep(1.5)  # several more polls
            await pilot.pause()
            unreachable = [n for n in notes(pilot) if n.startswith("Server unreachable")]
            assert len(unreachable) == 1, unreachable
            assert isinstance(app.screen, MaintenanceScreen) and not app.online
    finally:
        own.stop()
