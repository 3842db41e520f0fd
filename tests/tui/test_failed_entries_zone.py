"""A refused entry says when it was refused, and the server's instants, on the site's clock, not
the terminal's (80×24, the real server): the list (F8) and the form opened to fix it."""

from __future__ import annotations

import hashlib
import json

from textual.widgets import DataTable

from tests.tui.pilot import text_of, until
from tests.tui.test_failed_entries import open_operator, yesterday
from tui.screens.failed_entries import FailedEntriesScreen
from tui.screens.operator import OperatorScreen

ZONE = "Asia/Tokyo"  # UTC+9 all year: 10:00 UTC is 19:00 there


REFUSED = {"code": "entry_locked", "detail": "the shift was closed at 2026-01-01T09:30:00+00:00", "status": 409,
           "at": "2026-01-01T10:00:00+00:00"}


def park_refused_entry(tmp_path, live_server, world, machine, error: dict = REFUSED) -> None:
    """A good-parts entry the server refused, as the outbox leaves it in `failed/`."""
    server = hashlib.sha256(live_server.url.encode()).hexdigest()[:16]
    folder = tmp_path / "outbox" / server / world.operator.user_id / "failed"
    folder.mkdir(parents=True)
    key = "4c1d2e3f-2222-4c1e-9d7e-3a2b1c0d9e8f"
    item = {"seq": 1, "key": key, "method": "POST", "path": "/production/entry", "label": f"5 good · {machine['code']}",
            "queued_at": "2026-01-01T09:00:00+00:00",
            "body": {"machine_id": machine["id"], "shift_id": world.shift["id"], "shift_date": yesterday(),
                     "good_quantity": 5},
            "meta": {"kind": "good", "machine_id": machine["id"], "machine_code": machine["code"],
                     "timezone": ZONE, "fields": {"good_quantity": 5}},
            "error": error}
    (folder / f"{1:020d}-{key}.json").write_text(json.dumps(item))


async def test_refused_times_are_the_sites(app_factory, world, live_server, tmp_path):
    press = world.machines[0]
    park_refused_entry(tmp_path, live_server, world, press)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_operator(pilot, world, press["code"])
        await pilot.press("f8")
        await until(pilot, lambda: isinstance(app.screen, FailedEntriesScreen), what="failed entries")
        assert app.screen.query_one(DataTable).row_count == 1
        reason = text_of(pilot, "#failed-reason")
        assert reason.startswith("Refused 01 Jan 19:00.")
        assert "closed at 18:30" in reason and "+00:00" not in reason
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OperatorScreen), what="the form to fix it")
        assert "closed at 18:30" in text_of(pilot, "#op-result") and screen.fixing is not None
