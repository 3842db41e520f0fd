"""The handover note at the terminal (issue 21): Ctrl+T from any screen, saved for the shift
running now, listed in site time, refused visibly when empty, and not offered to a read-only member."""

from __future__ import annotations

import pytest
from textual.widgets import TextArea

from tests.accounts import PASSWORD, join, new_company
from tests.tui.pilot import settle, signed_in, text_of, until
from tui.screens.handover import HandoverScreen
from tui.screens.home import HomeScreen


async def test_an_operator_leaves_a_note_for_the_next_shift(app_factory, api, world):
    async with app_factory().run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(pilot.app.screen, HandoverScreen), what="handover screen")
        screen = pilot.app.screen
        await settle(pilot)
        await pilot.press("ctrl+s")  # nothing written yet
        assert "Write the note first" in text_of(pilot, "#handover-error")
        area = screen.query_one("#handover-text", TextArea)
        assert area.has_focus
        await pilot.press(*"Press [PRESS-01] sticks")  # brackets stay text, not markup
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Saved" in text_of(pilot, "#handover-status"), what="saved")
        listing = text_of(pilot, "#handover-notes")
        assert "Press [PRESS-01] sticks" in listing and area.text == ""
        # Everything fits 80×24: the dialog, its title and the footer's keys.
        lines = [strip.text for strip in pilot.app.screen._compositor.render_strips()]
        assert len(lines) == 24 and "Handover note for the next shift" in "".join(lines)
        assert "^s Save" in lines[-1] and "esc Close" in lines[-1]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, HomeScreen), what="back home")
    instance = listing and api.post("/api/v1/shift-handover/notes", headers=world.owner.headers,
                                    json={"site_id": world.site["id"], "body": "owner"}).json()["shift_instance_id"]
    notes = api.get("/api/v1/shift-handover/notes", params={"shift_instance_id": instance},
                    headers=world.owner.headers).json()
    assert [n["body"] for n in notes] == ["Press [PRESS-01] sticks", "owner"]


async def test_a_read_only_member_is_not_offered_the_handover_note(app_factory, api, world):
    reader = join(api, world.owner, "read_only")
    async with app_factory().run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, reader.email, world.password)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HomeScreen)
        assert "handover" not in {b.binding.action for b in pilot.app.screen.active_bindings.values() if b.enabled}


# The floor's 80×24 in the fast suite; the larger terminal too in the full run (`slow`).
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40", marks=pytest.mark.slow)]


@pytest.fixture(scope="module")
def handover_plant(api):
    """Fixed names (no running shift needed): the picture is the same on every run."""
    email = "snap-handover@example.com"
    h = new_company(api, "UTC", email=email, name="Snapshot Works").headers
    r = api.post("/api/v1/sites", json={"name": "Main plant", "code": "MAIN", "timezone": "UTC"}, headers=h)
    assert r.status_code == 201, r.text
    return email


@pytest.mark.parametrize("size", SIZES)
def test_handover_snapshot(snap_compare, app_factory, handover_plant, size):
    async def before(pilot):
        await signed_in(pilot, handover_plant, PASSWORD)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(pilot.app.screen, HandoverScreen), what="handover screen")
        await settle(pilot)
        await pilot.press(*"Press 1 sticks at the ram: tray placed, maintenance called.")
        area = pilot.app.screen.query_one("#handover-text", TextArea)
        area.cursor_blink = False
        await settle(pilot)

    assert snap_compare(app_factory(), terminal_size=size, run_before=before)
