"""Inspections at the operator terminal, 80×24, against the real server: the due line, the list
(F10), values typed as a gauge types them (value, Enter), out-of-spec flagged at the field,
a value that cannot be right refused at the field, and the text SPC chart."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select

from tests.quality import support
from tests.tui.pilot import settle, signed_in, text_of, type_text, until
from tui.screens.inspection import InspectionsScreen
from tui.screens.inspection_form import InspectionForm
from tui.screens.inspection_spc import SpcScreen
from tui.screens.operator import OperatorScreen
from tui.widgets.field_error import FieldError


def _timed_plan(api, world, app_engine):
    press = world.machines[0]
    p = support.plan(api, world.owner, name="Press hourly", machine_id=press["id"],
                     version=support.version(first_article=False, every_parts=None, every_minutes=60))
    assert support.release(api, world.owner, p["id"]).status_code == 200
    v = support.get_version(api, world.owner, p["id"])
    support.backdate(app_engine, world.owner.tenant_id, "inspection_plan_versions", v["id"], "released_at", 90)
    return press, p, v


async def _operator_on(pilot, world, press):
    await signed_in(pilot, world.operator.email, world.password)
    await pilot.press("1")
    await until(pilot, lambda: isinstance(pilot.app.screen, OperatorScreen), what="operator screen")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.session.reference is not None, what="machines")
    screen.query_one("#machine-code", Input).focus()
    await type_text(pilot, press["code"])
    await pilot.press("enter")
    await until(pilot, lambda: screen.machine is not None, what="machine chosen")
    return screen


def error_at(form, i: int) -> str:
    line = form.query_one(f"#c{i}-error", FieldError)
    return str(line.render()) if line.has_class("-shown") else ""


async def test_due_line_entry_form_flags_and_saves(app_factory, world, api, app_engine) -> None:
    press, p, v = _timed_plan(api, world, app_engine)
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await _operator_on(pilot, world, press)
        await until(pilot, lambda: "OVERDUE" in text_of(pilot, "#op-quality"), what="the due line")
        line = text_of(pilot, "#op-quality")
        assert "Press hourly · every 60 min since" in line and "F10" in line

        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, InspectionsScreen), what="inspections")
        table = app.screen.query_one("#insp-table", DataTable)
        await until(pilot, lambda: table.row_count == 1, what="the due list")
        assert str(table.get_row_at(0)[1]).startswith("OVERDUE · every 60 min")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, InspectionForm), what="the form")
        form = app.screen
        await until(pilot, lambda: form.query("#c0-v0") and form.focused is not None, what="fields")
        assert form.focused.id == "c0-v0"
        # The plan version's release signature is shown with it, and still matches the version.
        header = text_of(pilot, "#insp-plan")
        assert "✍ released by Olga Owner (approved)" in header and "NO LONGER VALID" not in header

        # A gauge types the value and Enter: the next part's field follows.
        await type_text(pilot, "10.01")
        await pilot.press("enter")
        assert form.focused.id == "c0-v1"
        await type_text(pilot, "-1")
        await pilot.pause()
        assert "Cannot be right: below 0.00 mm" in error_at(form, 0)
        await pilot.press("enter")
        assert form.focused.id == "c0-v1"  # refused: the same field again
        form.query_one("#c0-v1", Input).value = ""
        await type_text(pilot, "10.07")
        await pilot.pause()
        assert "OUT OF SPEC: 0.02 above the upper limit 10.05 mm" in error_at(form, 0)
        await pilot.press("enter")
        await type_text(pilot, "9.99")
        await pilot.press("enter")
        assert form.focused.id == "c1-result"
        # Nothing chosen for the pass/fail characteristic: not saved (never recorded as a failure).
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert form.saved is None and "Choose pass or fail." in error_at(form, 1)
        assert form.focused.id == "c1-result"
        form.query_one("#c1-result", Select).value = "Burr"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: form.saved is not None, what="saved")
        result = text_of(pilot, "#insp-result")
        assert "2 OUT OF SPEC" in result and "Bore: 10.07 is above the upper limit 10.05 mm by 0.02" in result
        # One key opens a nonconformance for it, filled from the inspection; a second press opens no other.
        assert "F4 opens a nonconformance" in result and form.check_action("open_nc", ()) is True
        await pilot.press("f4")
        await until(pilot, lambda: form.nc is not None, what="the NC")
        assert "NC-0001 opened for 1 part(s)" in text_of(pilot, "#insp-result")
        assert "Bore: 10.07" in text_of(pilot, "#insp-result")
        await pilot.press("f4")
        await settle(pilot)
        assert form.check_action("open_nc", ()) is False
        await pilot.press("escape")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, OperatorScreen), what="back")
        await until(pilot, lambda: "OVERDUE" not in text_of(pilot, "#op-quality"), what="no longer due")

    saved = api.get("/api/v1/inspections", params={"machine_id": press["id"]}, headers=world.owner.headers).json()
    [item] = saved["items"]
    assert (item["result"], item["out_of_spec"], item["trigger"]) == ("fail", 2, "time")
    detail = api.get(f"/api/v1/inspections/{item['id']}", headers=world.owner.headers).json()
    assert [r["values"] for r in detail["results"]][0] == ["10.01", "10.07", "9.99"]
    assert detail["results"][1]["defect"] == "Burr"
    ncs = api.get("/api/v1/nonconformances", headers=world.owner.headers).json()["items"]
    assert [(n["source"], n["source_id"], n["machine_id"], n["quantity"]) for n in ncs] == [
        ("inspection", item["id"], press["id"], "1.000")]
    assert ncs[0]["reported_by"] == world.operator.user_id


async def test_spc_chart_as_text(app_factory, world, api, app_engine) -> None:
    press, p, v = _timed_plan(api, world, app_engine)
    for values in (["10.00", "10.01", "9.99"], ["10.02", "10.00", "10.01"], ["9.98", "10.00", "9.99"],
                   ["10.04", "10.05", "10.04"]):
        assert support.inspect(api, world.owner, press["id"], p["id"], v, values=values).status_code == 201
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        app.push_screen(SpcScreen(v["characteristics"][0]["id"], None))
        await until(pilot, lambda: isinstance(app.screen, SpcScreen) and app.screen.spc is not None, what="chart")
        chart = text_of(pilot, "#spc-chart")
        lines = chart.splitlines()
        assert lines[0] == "Bore mm · X̄-R, n = 3 · 4 subgroups"
        assert lines[1].startswith("LCL ") and "CL 10.011" in lines[1]  # (10.000 + 10.010 + 9.990 + 10.043)/4
        assert "Cp " in lines[2] and "n = 12 values" in lines[2]
        assert len(lines) == 3 + 4 and all("│" in row and ("●" in row or "◆" in row) for row in lines[3:])
        assert max(len(row) for row in lines) <= 78


async def test_overdue_inspection_on_the_dashboard(app_factory, world, api, app_engine) -> None:
    from tui.screens.dashboard import DashboardScreen

    press, p, v = _timed_plan(api, world, app_engine)
    app = app_factory(poll_seconds=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        await until(pilot, lambda: "OVERDUE" in text_of(pilot, "#dash-quality"), what="overdue line")
        assert text_of(pilot, "#dash-quality").endswith("1 OVERDUE INSPECTION  PRESS-01 Press hourly")
        assert app.screen.query_one("#dash-quality").display
