"""Quality at the operator's terminal (80×24, the real server): the open NC's "next step" line
names a key only for someone who may press it, otherwise who decides; a new NC's quantity the
server cannot take is said at the field in plain words."""

from __future__ import annotations

from textual.widgets import Select

from tests.nonconformances.support import NC, ok, open_nc, quality_plant
from tests.tui.pilot import fill, settle, signed_in, text_of, until
from tui.screens.quality_forms import NcForm
from tui.screens.quality_list import QualityScreen


async def open_nc_detail(app_factory, who, nc_id: str) -> tuple[str, bool]:
    """The NC's detail as `who` reads it, and whether F5 (disposition) does anything for them."""
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, who.email, who.password)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QualityScreen), what="quality screen")
        screen = app.screen
        await until(pilot, lambda: screen.nc is not None and str(screen.nc.id) == nc_id, what="NC detail")
        await settle(pilot)
        return " ".join(text_of(pilot, "#q-detail").split()), bool(screen.check_action("disposition", ()))


async def test_an_operator_is_not_told_to_press_a_key_they_lack(app_factory, api) -> None:
    p = quality_plant(api)
    nc = open_nc(api, p.operator, p.machine["id"])
    shown, may = await open_nc_detail(app_factory, p.operator, nc["id"])
    assert not may and "F5" not in shown
    assert "Next: someone who may manage quality decides its disposition (Plant Manager, Supervisor" in shown
    # A supervisor decides dispositions: the key.
    shown, may = await open_nc_detail(app_factory, p.supervisor, nc["id"])
    assert may and "Next: F5 decides the disposition." in shown


async def test_a_quantity_the_server_cannot_take_is_said_at_the_field_in_plain_words(app_factory, api) -> None:
    p = quality_plant(api)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, p.operator.email, p.operator.password)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QualityScreen), what="quality screen")
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, NcForm), what="NC form")
        form = app.screen
        form.query_one("#nc-machine", Select).value = p.machine["id"]
        await fill(pilot, "#nc-description", "Flash on the rim")
        for typed, said in (("999999999999999", "At most 99999999999 parts: check the number."),
                            ("2.5005", "At most 3 decimals.")):
            await fill(pilot, "#nc-quantity", typed)
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is form and text_of(pilot, "#nc-quantity-error") == f"▲ {said}"
    assert ok(api.get(NC, headers=p.owner.headers))["items"] == []
