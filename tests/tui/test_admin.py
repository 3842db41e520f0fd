"""Admin screens against the real server: permission flags, invites, audit log, MFA enrollment."""

from __future__ import annotations

import re

import pyotp
from textual.widgets import DataTable, SelectionList

from factoryos.identity.permissions import ROLES
from tests.tui.pilot import fill, signed_in, until
from tui.screens.admin import AdminScreen
from tui.screens.invite_code import InviteCodeDialog
from tui.screens.mfa import MfaScreen
from tui.screens.permissions import PermissionsDialog, split_flags


def test_split_flags_turns_ticks_into_grants_and_denials():
    kept = ROLES["operator"] - {"orders.view"}
    assert split_flags("operator", kept | {"reports.export"}) == (["reports.export"], ["orders.view"])


async def open_admin(pilot, world) -> AdminScreen:
    await signed_in(pilot, world.owner.email, world.password)
    await pilot.press("5")
    await until(pilot, lambda: isinstance(pilot.app.screen, AdminScreen), what="admin screen")
    return pilot.app.screen


async def test_grant_a_permission_flag(app_factory, world, api):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_admin(pilot, world)
        table = screen.query_one("#users-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="members listed")
        table.focus()
        table.move_cursor(row=table.get_row_index(world.operator.user_id))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PermissionsDialog), what="permissions dialog")
        flags = app.screen.query_one("#flags", SelectionList)
        flags.focus()
        flags.highlighted = [flags.get_option_at_index(i).value for i in range(flags.option_count)].index(
            "reports.export")
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="dialog closed")
        await until(pilot, lambda: "+reports.export" in str(table.get_row(world.operator.user_id)[5]),
                    what="table updated")
    member = api.get(f"/api/v1/users/{world.operator.user_id}", headers=world.owner.headers).json()
    assert member["granted"] == ["reports.export"] and "reports.export" in member["permissions"]


async def test_create_invite_shows_a_working_code(app_factory, world, api):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_admin(pilot, world)
        await pilot.press("f6")
        await pilot.pause()
        await pilot.click("#invite-create")
        await until(pilot, lambda: isinstance(app.screen, InviteCodeDialog), what="code dialog")
        code = str(app.screen.query_one("#invite-code").render()).strip()
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
        await pilot.press("escape")
    r = api.post("/api/v1/invites/accept", json={"code": code, "email": f"new-{code}@example.com",
                                                  "password": world.password, "display_name": "New Hire"})
    assert r.status_code == 201, r.text
    assert r.json()["company"]["role"] == "operator"


async def test_audit_log_filters_by_action(app_factory, world, api):
    api.post("/api/v1/auth/login", json={"email": world.operator.email, "password": "wrong password"})
    app = app_factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_admin(pilot, world)
        await pilot.press("f7")
        table = screen.query_one("#audit-table", DataTable)
        await until(pilot, lambda: table.row_count > 3, what="audit rows")
        await fill(pilot, "#audit-action", "login_failed")
        await pilot.press("enter")
        await until(pilot, lambda: table.row_count == 1, what="filtered rows")
        assert table.get_row_at(0)[1] == "login_failed"


async def test_enroll_two_factor_with_the_qr_screen(app_factory, world, api):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("6")
        await until(pilot, lambda: isinstance(app.screen, MfaScreen), what="mfa screen")
        screen = app.screen
        await pilot.press("enter")  # Start enrollment has focus
        await until(pilot, lambda: bool(screen.query("#qr")), what="QR code")
        qr = screen.query_one("#qr")
        assert qr.data.startswith("otpauth://totp/") and len(str(qr.render()).splitlines()) <= 22
        secret = re.search(r"secret=([A-Z2-7]+)", qr.data).group(1)
        await fill(pilot, "#mfa-code", pyotp.TOTP(secret).now())
        await pilot.press("enter")
        await until(pilot, lambda: "Recovery codes" in str(screen.query_one("#mfa-codes").render()),
                    what="recovery codes")
    me = api.get("/api/v1/auth/me", headers=world.operator.headers)
    assert me.json()["account"]["mfa_enabled"] is True
