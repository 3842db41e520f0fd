"""The operator's screens at 80×24 against the real server: what they read is all on the screen
(the result line, the due inspection line and list, an inspection of five parts, a short stop),
keys shown do what they say (the form once saved, F9 in the help), and what they type is judged
at the field in their words (a final count, a superscript digit, an order scanned twice)."""

from __future__ import annotations

import re
import uuid

from textual.widgets import Input, OptionList, Select

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import flag_overdue_stops
from tests.maintenance import support as maintenance
from tests.orders import runs_plant
from tests.quality import support
from tests.tui.order_plant import queued
from tests.tui.pilot import fill, settle, signed_in, text_of, type_text, until
from tests.tui.test_failed_entries_zone import park_refused_entry
from tests.tui.test_floor_language import operator_screen
from tests.tui.test_operator_orders import run_screen
from tui.screens.failed_entries import FailedEntriesScreen
from tui.screens.help import HelpScreen
from tui.screens.inspection import InspectionsScreen
from tui.screens.inspection_form import InspectionForm
from tui.screens.inspection_spc import SpcScreen
from tui.screens.machine_run import RunScreen
from tui.screens.operator import OperatorScreen
from tui.screens.run_forms import CompleteForm


def screen_text(pilot) -> str:
    """The terminal as the operator sees it, one line per row."""
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())  # noqa: SLF001


def footer_keys(pilot) -> list[str]:
    return [line for line in screen_text(pilot).splitlines() if line.strip()][-1].split("  ")


def counts_itself(api, world, machine) -> None:
    body = {"protocol": "modbus", "enabled": True, "endpoint": {"host": "127.0.0.1", "port": 1502},
            "signals": {"good": {"address": 10}, "reject": {"address": 12}, "state": {"address": 14}}}
    r = api.put(f"/api/v1/machines/{machine['id']}/connection", json=body, headers=world.owner.headers)
    assert r.status_code == 200, r.text


async def choose_machine(pilot, screen, code: str) -> None:
    screen.query_one("#machine-code", Input).focus()
    await type_text(pilot, code)
    await pilot.press("enter")
    await until(pilot, lambda: screen.machine is not None, what="machine chosen")


async def test_a_self_counting_machine_is_said_in_one_whole_line(app_factory, world, api):
    machine = world.machines[1]
    counts_itself(api, world, machine)
    async with app_factory().run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await choose_machine(pilot, screen, machine["code"])
        await settle(pilot)
        [line] = [row for row in screen_text(pilot).splitlines() if "counts its own parts" in row]
        assert line.rstrip().endswith("enter only scrap and stop reasons.")


async def test_a_long_result_wraps_instead_of_losing_its_end(app_factory, world, live_server, tmp_path):
    press = world.machines[0]
    park_refused_entry(tmp_path, live_server, world, press, {
        "code": "entry_overlaps_machine_counts", "detail": "counted", "status": 409, "at": "2026-01-01T10:00:00Z"})
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await choose_machine(pilot, screen, press["code"])
        await pilot.press("f8")
        await until(pilot, lambda: isinstance(app.screen, FailedEntriesScreen), what="failed entries")
        await pilot.press("enter")  # fix it: the form opens with why it was refused under it
        await until(pilot, lambda: app.screen is screen and screen.fixing is not None, what="the form")
        await settle(pilot)
        shown = " ".join(line.strip() for line in screen_text(pilot).splitlines())
        assert "Fix, then save: The machine counted these parts itself: entering them would count them twice." \
            in shown


def timed_plan(api, world, app_engine, name: str, sample_size: int = 3) -> dict:
    """A released plan of the first machine, every 60 min, released 90 min ago: overdue now.
    Returns the machine (the plan and version are kept on it under "plan" and "version")."""
    press = world.machines[0]
    version = support.version(first_article=False, every_parts=None, every_minutes=60,
                              characteristics=[support.bore(sample_size=sample_size), support.surface()])
    p = support.plan(api, world.owner, name=name, machine_id=press["id"], version=version)
    assert support.release(api, world.owner, p["id"]).status_code == 200
    v = support.get_version(api, world.owner, p["id"])
    support.backdate(app_engine, world.owner.tenant_id, "inspection_plan_versions", v["id"], "released_at", 90)
    return press | {"plan": p, "version": v}


async def test_the_due_line_and_list_keep_the_time_when_the_plan_name_is_long(app_factory, world, api, app_engine):
    press = timed_plan(api, world, app_engine, "Bracket housing after deburring, final dimensional check")
    async with app_factory(poll_seconds=0.3).run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await choose_machine(pilot, screen, press["code"])
        await until(pilot, lambda: "OVERDUE" in text_of(pilot, "#op-quality"), what="the due line")
        await settle(pilot)
        [row] = [line for line in screen_text(pilot).splitlines() if "OVERDUE" in line]
        assert "Bracket housing" in row and "…" in row  # the plan's name gives way…
        assert "since " in row and row.rstrip().endswith("F10 inspect")  # …not when, nor the key
        since = re.search(r"since (\d\d:\d\d)", row).group(1)
        # The list (F10): the row keeps its time in sight as well.
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(pilot.app.screen, InspectionsScreen), what="inspections")
        await until(pilot, lambda: pilot.app.screen.rows, what="the due list")
        await settle(pilot)
        [listed] = [line for line in screen_text(pilot).splitlines() if "Bracket housing" in line]
        assert listed.rstrip().endswith(since), listed


async def inspection_form(pilot, world, code: str) -> InspectionForm:
    """The operator at `code`, F10, Enter on the due plan: its form."""
    app = pilot.app
    screen = await operator_screen(pilot, world)
    await choose_machine(pilot, screen, code)
    await pilot.press("f10")
    await until(pilot, lambda: isinstance(app.screen, InspectionsScreen), what="inspections")
    await until(pilot, lambda: app.screen.rows, what="the due list")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, InspectionForm), what="the form")
    return app.screen


async def test_five_parts_to_measure_all_fit_at_80_columns(app_factory, world, api, app_engine):
    press = timed_plan(api, world, app_engine, "Press hourly", sample_size=5)
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await inspection_form(pilot, world, press["code"])
        await until(pilot, lambda: form.query("#c0-v4") and form.focused is not None, what="fields")
        await settle(pilot)
        for j in range(5):
            field = form.query_one(f"#c0-v{j}", Input)
            assert field.region.right <= 80 and field.region.width >= 10, (j, field.region)
        # A gauge fills them part by part; the fifth value is there to read.
        for value in ("10.01", "10.00", "9.99", "10.02", "10.03"):
            await type_text(pilot, value)
            await pilot.press("enter")
        assert form.focused.id == "c1-result"
        assert "10.03" in screen_text(pilot)


async def test_once_saved_the_form_offers_no_save_and_esc_says_back(app_factory, world, api, app_engine):
    press = timed_plan(api, world, app_engine, "Press hourly", sample_size=1)
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await inspection_form(pilot, world, press["code"])
        await until(pilot, lambda: form.query("#c0-v0") and form.focused is not None, what="fields")
        assert "esc Cancel" in footer_keys(pilot)[0] and any("^s Save" in k for k in footer_keys(pilot))
        await type_text(pilot, "10.00")
        await pilot.press("enter")
        form.query_one("#c1-result", Select).value = "pass"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: form.saved is not None, what="saved")
        await settle(pilot)
        keys = " ".join(footer_keys(pilot))
        assert "Save" not in keys and "Cancel" not in keys and "esc Back" in keys
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, InspectionsScreen), what="back at the list")


async def test_a_final_count_the_server_cannot_take_is_said_at_the_field(app_factory, world, api, app_engine):
    press = world.machines[0]
    queued(app_engine, world.owner.tenant_id, press, 1)
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await run_screen(pilot, world, press)
        await until(pilot, lambda: screen.chosen is not None, what="the queue")
        await pilot.press("f2")
        await until(pilot, lambda: screen.run is not None, what="running")
        await pilot.press("f5")
        await until(pilot, lambda: isinstance(app.screen, CompleteForm), what="final quantity")
        form = app.screen
        form.query_one("#final-good", Input).value = "999999999"  # the field takes nine digits
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert app.screen is form  # still open: what was typed is there to correct
        assert "At most 100000000 parts" in text_of(pilot, "#final-good-error")
        assert form.focused is form.query_one("#final-good", Input)
        form.query_one("#final-good", Input).value = "4²"  # a digit to Python, not a count: said, no crash
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert app.screen is form and "Only digits" in text_of(pilot, "#final-good-error")
        form.query_one("#final-good", Input).value = "40"
        await pilot.press("enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), what="back at the machine")
        await until(pilot, lambda: "Completed" in text_of(pilot, "#run-result"), what="completed")


async def test_a_wide_range_with_the_mean_inside_the_limits_is_named_as_such(app_factory, world, api, app_engine):
    press = timed_plan(api, world, app_engine, "Press hourly")
    for values in [["10.00", "10.00", "10.01"]] * 5 + [["9.96", "10.00", "10.04"]]:
        r = support.inspect(api, world.owner, press["id"], press["plan"]["id"], press["version"], values=values)
        assert r.status_code == 201, r.text
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        app.push_screen(SpcScreen(press["version"]["characteristics"][0]["id"], None))
        await until(pilot, lambda: isinstance(app.screen, SpcScreen) and app.screen.spc is not None, what="chart")
        last = text_of(pilot, "#spc-chart").splitlines()[-1]
        upper = app.screen.spc.location.upper
        assert app.screen.spc.points[-1].value < upper and "◆" in last
        assert last.endswith(" R beyond 3σ"), last  # not "beyond 3σ": the mean is inside the limits


async def test_the_help_says_what_f9_does_on_the_operator_screen(app_factory, world):
    async with app_factory().run_test(size=(80, 24)) as pilot:
        await operator_screen(pilot, world)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
        keys = dict(pilot.app.screen.keys)
        assert keys["f9"] == "Material"  # what F9 opens here, not the theme it does not switch
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, OperatorScreen), what="back")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(pilot.app.screen, OperatorScreen), what="home")
        await pilot.press("f1")  # where no screen takes F9, it is the theme
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
        assert dict(pilot.app.screen.keys)["f9"] == "High-contrast theme on/off"


async def test_a_stop_shorter_than_a_minute_is_not_said_as_0_min(app_factory, world, api, app_engine):
    press = world.machines[0]
    r = api.patch(f"/api/v1/sites/{world.site['id']}", json={"micro_stop_seconds": 15}, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    maintenance.states(app_engine, world.owner, press["id"], ("running", maintenance.ago(minutes=10)),
                       ("unplanned_stop", maintenance.ago(seconds=30)))
    tenant = uuid.UUID(world.owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        assert flag_overdue_stops(conn, tenant, maintenance.now()) == 1
    async with app_factory().run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await choose_machine(pilot, screen, press["code"])
        await pilot.press("f7")
        listing = screen.query_one("#downtime-list", OptionList)
        await until(pilot, lambda: "so far" in str(listing.get_option_at_index(0).prompt), what="the stop")
        label = str(listing.get_option_at_index(0).prompt)
        assert re.search(r"down \d\d s so far", label) and "0 min" not in label, label


async def test_scanning_the_order_that_runs_here_again_says_so(app_factory, world, api, app_engine):
    press, lathe = world.machines
    made = runs_plant.order(app_engine, world.owner.tenant_id, [
        {"name": "Pressing", "allowed": [runs_plant.allowed(press)], "machine_id": press["id"], "queue_position": 1},
        {"name": "Turning", "allowed": [runs_plant.allowed(lathe)]}])
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await run_screen(pilot, world, press)
        await until(pilot, lambda: screen.chosen is not None, what="the queue")
        await pilot.press("f2")
        await until(pilot, lambda: screen.run is not None, what="running")
        await type_text(pilot, made["number"].lower())  # the same label scanned again
        await pilot.press("enter")
        await until(pilot, lambda: "runs" in text_of(pilot, "#order-error"), what="the refusal")
        said = " ".join(text_of(pilot, "#order-error").split())
        assert f"{made['number']} already runs here (10 Pressing); its next operation runs on {lathe['code']}." \
            in said, said
        assert screen.run is not None and screen.run.job_number == made["number"]  # nothing changed


async def test_a_superscript_digit_in_a_quantity_is_named_not_a_crash(app_factory, world, api):
    press = world.machines[0]
    async with app_factory().run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await choose_machine(pilot, screen, press["code"])
        await pilot.press("f5")
        await fill(pilot, "#good-qty", "5²")  # AltGr+2 on a German keyboard
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is screen and pilot.app.is_running
        assert "Only digits: '5²'" in text_of(pilot, "#good-error")
