"""Every key of the admin tabs is on screen at 80 columns: none runs off the footer's end."""

from __future__ import annotations

import pytest

from tests.tui.pilot import settle, signed_in, until
from tui.screens.admin import AdminScreen


@pytest.mark.parametrize("key", ["f5", "f6", "f7", "f8", "f12", "f4", "f11", "f3"])
async def test_the_footer_of_each_admin_tab_fits_80_columns(app_factory, world, key):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin")
        await pilot.press(key)
        await settle(pilot)
        keys = list(app.screen.query("FooterKey"))
        cut = [str(k.description) for k in keys if k.region.right > 80 or k.region.width == 0]
        assert not cut, f"off the footer: {cut}"
        assert {"Back", "Help"} <= {str(k.description) for k in keys}


@pytest.mark.parametrize(("width", "labels"), [
    (80, ["Users", "Invites", "Audit", "License", "System", "Sign-in", "Edges", "MQTT"]),
    (160, ["Users F5", "Invites F6", "Audit F7", "License F8", "System F12", "Sign-in F4", "Edges F11", "MQTT F3"]),
])
async def test_every_admin_tab_is_in_sight(app_factory, world, width, labels):
    """With their keys the tabs need about 100 columns: at 80 the last ones (Edges, MQTT) were off
    screen, whichever tab was open. There the labels drop their keys (the help lists them)."""
    from textual.widgets import Tab

    app = app_factory()
    async with app.run_test(size=(width, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin")
        await pilot.press("f5")
        await settle(pilot)
        tabs = list(app.screen.query(Tab))
        assert [str(t.label) for t in tabs] == labels
        assert [str(t.label) for t in tabs if t.region.width == 0 or t.region.right > width] == []
