"""Issue 21's floor defects, against the real server: sign-out, refusals at their field in
operator words, letters in quantities, self-counting machines, suggestions, scanner bursts,
and the "Sending…" state while the server does not answer."""

from __future__ import annotations

import asyncio
import contextlib

from textual import events
from textual.widgets import Input, Static

from tests.production import plant
from tests.tui.pilot import open_target_form, settle, signed_in, text_of, type_text, until
from tui.screens.dashboard import DashboardScreen
from tui.screens.login import LoginScreen
from tui.screens.operator import OperatorScreen
from tui.widgets.field_error import FieldError


def entries(api, world, machine) -> list[dict]:
    r = api.get("/api/v1/production/entry", params={"machine_id": machine["id"]}, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def error_under(pilot, line_id: str) -> str:
    line = pilot.app.screen.query_one(f"#{line_id}", FieldError)
    return str(line.render()) if line.display else ""


async def burst(pilot, text: str) -> None:
    """Keys as a barcode scanner sends them: all at once, nothing processed in between."""
    driver = pilot.app._driver  # noqa: SLF001
    for char in text:
        key = "enter" if char == "\r" else "minus" if char == "-" else char
        event = events.Key(key, "\r" if char == "\r" else char)
        event.set_sender(pilot.app)
        driver.send_message(event)
    await settle(pilot)


async def operator_screen(pilot, world) -> OperatorScreen:
    await signed_in(pilot, world.operator.email, world.password)
    await pilot.press("1")
    await until(pilot, lambda: isinstance(pilot.app.screen, OperatorScreen), what="operator screen")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.session.reference is not None and screen.shift is not None, what="shifts")
    return screen


async def test_sign_out_returns_to_sign_in_without_crashing(app_factory, world):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), what="sign-in screen")
        await settle(pilot)
        assert app.session is None and app.sub_title == ""
        # Signed in again and out again: the second time used to crash as well.
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), what="sign-in screen again")
        await settle(pilot)
    assert app._exception is None  # noqa: SLF001


async def test_leaving_right_after_a_screen_switch_does_not_crash(app_factory, world):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
    assert app._exception is None  # noqa: SLF001


async def test_letters_in_a_quantity_are_named_and_nothing_is_sent(app_factory, world, api):
    machine = world.machines[0]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await type_text(pilot, machine["code"].lower())
        await pilot.press("enter")
        await until(pilot, lambda: screen.machine is not None, what="machine")
        await type_text(pilot, "12a5")
        field = screen.query_one("#good-qty", Input)
        assert field.value == "12a5"  # kept visible, not silently "125"
        assert "Only digits" in error_under(pilot, "good-error") and field.has_class("-invalid")
        await pilot.press("enter")
        await settle(pilot)
        assert "Only digits" in error_under(pilot, "good-error") and field.has_focus
        field.value = "125"
        await pilot.pause()
        assert error_under(pilot, "good-error") == "" and not field.has_class("-invalid")
    assert entries(api, world, machine) == []


async def test_over_the_rate_is_said_at_the_quantity_in_operator_words(app_factory, world, api):
    slow = plant.machine(api, world.owner, world.site["id"], cycle="3600", code="SLOW-09", name="Slow one")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await type_text(pilot, "slow-09")
        await pilot.press("enter")
        await until(pilot, lambda: screen.machine is not None and screen.machine.code == "SLOW-09", what="machine")
        await type_text(pilot, "99999")
        await pilot.press("enter")
        await until(pilot, lambda: error_under(pilot, "good-error") != "", what="refusal at the field")
        text = error_under(pilot, "good-error")
        assert "SLOW-09 can make at most " in text and " parts in that time." in text
        assert "good_quantity" not in text and "ideal rate" not in text
        assert screen.query_one("#good-qty", Input).has_focus
        assert "Online" in text_of(pilot, "#status")  # a refusal is an answer: not offline
    assert entries(api, world, slow) == []


async def test_a_machine_that_counts_itself_is_marked_and_good_parts_are_not_offered(app_factory, world, api):
    machine = world.machines[1]
    body = {"protocol": "modbus", "enabled": True, "endpoint": {"host": "127.0.0.1", "port": 1502},
            "signals": {"good": {"address": 10}, "reject": {"address": 12}, "state": {"address": 14}}}
    r = api.put(f"/api/v1/machines/{machine['id']}/connection", json=body, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await type_text(pilot, machine["code"].lower())
        await pilot.press("enter")
        await until(pilot, lambda: screen.machine is not None, what="machine")
        assert "counts itself" in text_of(pilot, "#machine-info")
        await type_text(pilot, "5")
        await pilot.press("enter")
        await settle(pilot)
        assert error_under(pilot, "good-error") == (
            f"▲ Parts on {machine['code']} are counted by the machine; enter only scrap and stop reasons here.")
        # The other machine has no connection: no mark.
        screen.query_one("#machine-code", Input).focus()
        screen.query_one("#machine-code", Input).value = ""
        await type_text(pilot, world.machines[0]["code"])
        await pilot.press("enter")
        await until(pilot, lambda: screen.machine.code == world.machines[0]["code"], what="other machine")
        assert "counts itself" not in text_of(pilot, "#machine-info")
    assert entries(api, world, machine) == []


async def test_enter_takes_the_suggestion_shown(app_factory, world):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await type_text(pilot, "pre")  # "PRESS-01" is suggested
        await until(pilot, lambda: screen.query_one("#machine-code", Input)._suggestion != "", what="suggestion")
        await pilot.press("enter")
        await until(pilot, lambda: screen.machine is not None, what="machine")
        assert screen.machine.code == "PRESS-01"
        assert screen.query_one("#machine-code", Input).value == "PRESS-01"
        assert error_under(pilot, "machine-error") == ""


async def test_a_scanner_burst_of_code_enter_quantity_enter_loses_nothing(app_factory, world, api):
    machine = world.machines[1]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await burst(pilot, f"{machine['code'].lower()}\r12\r")
        await until(pilot, lambda: "Saved" in text_of(pilot, "#op-result"), what="saved")
        assert screen.machine.code == machine["code"]
    assert [e["good_quantity"] for e in entries(api, world, machine)] == [12]


async def test_outside_the_shift_is_said_in_site_time_at_the_shift(app_factory, world):
    from factoryos.client import ClientError

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await type_text(pilot, world.machines[0]["code"])
        await pilot.press("enter")
        await until(pilot, lambda: screen.machine is not None, what="machine")
        shift = screen.shift
        # The server's words for this refusal (UTC instants, field names) never reach the operator.
        refusal = ClientError("entry_outside_shift", f"ended_at {shift.ends_at.isoformat()} is after shift "
                              f"Day ends ({shift.ends_at.isoformat()})", field="ended_at", status=422)
        screen._refused("good", refusal, screen.machine, shift)  # noqa: SLF001
        await pilot.pause()
        start, end = f"{shift.starts_at:%H:%M}", f"{shift.ends_at:%H:%M}"
        assert error_under(pilot, "shift-error") == (
            f"▲ This shift runs {start}–{end}: pick the shift the parts were made in.")
        assert screen.query_one("#shift-select").has_focus


@contextlib.asynccontextmanager
async def hanging_proxy(target_port: int):
    """A loopback proxy to the real server that can stop answering (a hung server)."""
    hung = asyncio.Event()

    async def pipe(reader, writer):
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                if hung.is_set():
                    await asyncio.Event().wait()  # swallow: never answer
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", hung
    finally:
        server.close()


async def test_sending_is_shown_while_the_server_does_not_answer(app_factory, world, live_server):
    from urllib.parse import urlparse

    async with hanging_proxy(urlparse(live_server.url).port) as (url, hung):
        app = app_factory(server=url, timeout=3.0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await operator_screen(pilot, world)
            await type_text(pilot, world.machines[0]["code"])
            await pilot.press("enter")
            await until(pilot, lambda: screen.machine is not None, what="machine")
            await settle(pilot)
            hung.set()
            await type_text(pilot, "4")
            await pilot.press("enter")
            await until(pilot, lambda: "Sending" in text_of(pilot, "#status"), timeout=2, what="sending state")
            assert "Online" not in text_of(pilot, "#status")
            assert "Sending 4 good" in text_of(pilot, "#op-result")
            # The timeout ends it: queued on this terminal, and the status says so.
            await until(pilot, lambda: "OFFLINE" in text_of(pilot, "#status"), timeout=10, what="offline")
            assert "Queued" in text_of(pilot, "#op-result")


async def test_planning_keeps_a_refused_target_open_with_the_reason_at_the_field(app_factory, world, api):

    from tests.tui.pilot import fill
    from tui.screens.plan_forms import ShiftForm, TargetForm
    from tui.screens.planning import PlanningScreen

    machine = world.machines[0]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_target_form(pilot, world.owner.email, world.password, machine["id"])
        form = app.screen
        await fill(pilot, "#t-target", "999999999")  # above the server's bound
        await pilot.press("enter")
        await until(pilot, lambda: error_under(pilot, "t-target-error") != "", what="refusal at the target")
        assert isinstance(app.screen, TargetForm) and app.screen is form
        assert form.query_one("#t-target", Input).value == "999999999"
        assert form.query_one("#t-target", Input).has_class("-invalid")
        await fill(pilot, "#t-target", "150")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PlanningScreen), what="form closed")
        await until(pilot, lambda: table.get_row(machine["id"])[2] == "150", what="target shown")

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ShiftForm), what="shift form")
        await fill(pilot, "#s-name", "Late")
        await fill(pilot, "#s-start", "25:00")
        await fill(pilot, "#s-end", "06:00")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: error_under(pilot, "s-start-error") != "", what="refusal at the start")
        assert isinstance(app.screen, ShiftForm) and app.screen.query_one("#s-name", Input).value == "Late"
    plans = api.get("/api/v1/production/plan", params={"machine_id": machine["id"]},
                    headers=world.owner.headers).json()["items"]
    assert [p["target_quantity"] for p in plans] == [150]


async def test_dashboard_at_80x24_shows_the_stops_and_a_scrap_line_that_agrees_with_the_tile(
        app_factory, world, api):
    from datetime import UTC, datetime, timedelta

    from textual.widgets import Select

    for n in range(4):  # six machines, each with a stop waiting: more than the space below the tiles
        plant.machine(api, world.owner, world.site["id"], cycle="0.001", code=f"EXTRA-{n}", name=f"Extra {n}")
    machines = api.get("/api/v1/machines", headers=world.owner.headers).json()["items"]
    for i, m in enumerate(machines):
        started = (datetime.now(UTC) - timedelta(minutes=10 + i)).isoformat()
        r = api.post("/api/v1/downtime", json={"machine_id": m["id"], "started_at": started, "planned": False},
                     headers=world.owner.headers)
        assert r.status_code == 201, r.text
    reasons = api.get("/api/v1/downtime/reasons", headers=world.owner.headers).json()["items"]
    surface = next(r["id"] for r in reasons if r["code"] == "DEFECT.SURFACE")
    r = api.post("/api/v1/rejections", json={"machine_id": world.machines[0]["id"], "quantity": 3,
                                             "reason_id": surface}, headers=world.owner.headers)
    assert r.status_code == 201, r.text

    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        screen = app.screen
        alerts, scrap = screen.query_one("#alerts", Static), screen.query_one("#scrap-reasons", Static)
        await until(pilot, lambda: "6 stops waiting" in str(alerts.render()), what="stops")
        await until(pilot, lambda: "Scrap 3:" in str(scrap.render()), what="scrap line")
        await pilot.pause()
        footer = screen.query_one("Footer")
        for widget in (alerts, scrap):  # wholly on screen, above the status line and footer
            assert widget.region.height >= 1 and widget.region.bottom <= footer.region.y - 1, widget.id
        assert alerts.region.height == len(str(alerts.render()).splitlines())
        assert "oldest 2 shown" in str(alerts.render())
        assert str(screen.query_one("#kpi-scrap .kpi-value").render()).startswith("3")
        assert "Surface" in str(scrap.render()) or "surface" in str(scrap.render())
        site = screen.query_one("#site-select", Select)
        assert site.prompt != "loading sites…"


def footer_keys(screen) -> list[str]:
    return [str(key.description) for key in screen.query("FooterKey")]


async def test_a_read_only_member_sees_only_what_the_role_allows(app_factory, world, api):
    from tests.accounts import join
    from tui.screens.help import HelpScreen
    from tui.screens.home import HomeScreen
    from tui.screens.machine_form import MachineForm
    from tui.screens.machines import MachinesScreen

    viewer = join(api, world.owner, "read_only")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, viewer.email, world.password)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="machines")
        screen = app.screen
        await settle(pilot)
        keys = footer_keys(screen)
        assert "Reload" in keys and "New" not in keys and "Connection" not in keys and "Jumps" not in keys
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screen and not isinstance(app.screen, MachineForm)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        listed = [line.split()[0] for line in text_of(pilot, "#help-keys").splitlines() if line.strip()]
        assert len(listed) == len(set(listed)), listed  # each key once (f9 was listed twice)
        assert "n" not in listed and "c" not in listed and "f9" in listed
        await pilot.press("escape")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
        # The start screen's digits: only the areas of this role, in the help too.
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        listed = [line.split()[0] for line in text_of(pilot, "#help-keys").splitlines() if line.strip()]
        assert "1" not in listed and "4" not in listed and "2" in listed


async def test_the_join_screen_does_not_offer_the_previous_users_email(app_factory, world):
    from tui.screens.join import JoinScreen

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), what="sign-in screen")
        assert app.screen.query_one("#email", Input).value == world.operator.email  # remembered for sign-in
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, JoinScreen), what="join screen")
        assert app.screen.query_one("#join-email", Input).value == ""


async def test_backup_keys_only_where_the_server_can_take_backups(app_factory, world, app_engine):
    from textual.widgets import TabbedContent

    from tests.accounts import make_installation_admin
    from tui.screens.admin import AdminScreen
    from tui.widgets.backups_pane import BackupsPane

    make_installation_admin(app_engine, world.owner.email)  # this test server has no superuser URL
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin")
        await pilot.press("f10")
        screen = app.screen
        await until(pilot, lambda: screen.query_one(TabbedContent).active == "backups", what="backups tab")
        pane = screen.query_one(BackupsPane)
        await until(pilot, lambda: pane.listing is not None, what="backup listing")
        await settle(pilot)
        assert "cannot take backups" in text_of(pilot, "#backup-schedule")
        keys = footer_keys(screen)
        assert "Back up now" not in keys and "Restore" not in keys and "Reload" in keys
