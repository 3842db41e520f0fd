"""SVG snapshots of each company setup step at 80×24 and 160×48.

Each test resets the company's wizard state and sets up the step it shows, so the pictures
do not depend on test order. The one random text, an invite code, is a fixed sample.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from factoryos.client.models import NewInvite
from tests.accounts import new_company
from tests.tui.pilot import fill, settle, signed_in, until
from tests.tui.test_snapshots import PASSWORD, SIZES, still
from tui.app import make_app
from tui.screens.onboarding import OnboardingScreen
from tui.widgets.wizard.invite_step import InvitePane

OWNER = "wizard-owner@example.com"
CSV = (
    "Order No;Item;Qty;Due date;Customer;Machine\n"
    "WO-1001;Bracket 40x40;1200;2026-09-01;Acme Tools;PRESS-01\n"
    "WO-1002;Hinge;lots;2026-09-02;Acme Tools;PRESS-01\n"
    "WO-1003;Flange DN50;40;03.09.2026;Nordwerk;LATHE-01\n"
    "WO-1004;Shaft;15;2026-09-04;;MILL-99\n"
)


@pytest.fixture(scope="module")
def wizard_company(api: httpx.Client) -> dict[str, str]:
    owner = new_company(api, "UTC", email=OWNER, name="Wizard Works")
    h = owner.headers
    site = api.post("/api/v1/sites", json={"name": "Main plant", "code": "MAIN", "timezone": "UTC"}, headers=h).json()
    for code, name, cycle in [("PRESS-01", "Press 1", 30), ("LATHE-01", "Lathe", 45), ("WELD-01", "Welding cell", 90)]:
        r = api.post("/api/v1/machines", headers=h, json={"site_id": site["id"], "code": code, "name": name,
                                                          "ideal_cycle_seconds": cycle})
        assert r.status_code == 201, r.text
    return {"tenant_id": owner.tenant_id, **h}


@pytest.fixture()
def at_step(api, wizard_company, superuser_engine):
    """Reset the wizard, record `done` steps, and put the company on `step`."""
    headers = {"Authorization": wizard_company["Authorization"]}

    def put(step: str, done: dict[str, dict] | None = None) -> None:
        with superuser_engine.begin() as conn:
            conn.execute(text("delete from onboarding_state where tenant_id = :t"), {"t": wizard_company["tenant_id"]})
        for name, data in (done or {}).items():
            status = data.pop("status", "done")
            r = api.post(f"/api/v1/onboarding/steps/{name}", json={"status": status, "data": data}, headers=headers)
            assert r.status_code == 200, r.text
        r = api.put("/api/v1/onboarding", json={"current_step": step}, headers=headers)
        assert r.status_code == 200, r.text

    return put


@pytest.fixture()
def in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture()
def wizard_app(tmp_path, live_server, monkeypatch):
    (tmp_path / "erp-export.csv").write_text(CSV, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the path typed in the picture is relative, the same on every run
    return make_app(server=live_server.url, config_path=tmp_path / "client.json", outbox_dir=tmp_path / "outbox")


async def open_wizard(pilot) -> OnboardingScreen:
    await signed_in(pilot, OWNER, PASSWORD)
    await pilot.press("0")
    await until(pilot, lambda: isinstance(pilot.app.screen, OnboardingScreen), what="wizard")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.showing is not None, what="wizard state")
    await settle(pilot)
    return screen


async def preview(pilot, screen: OnboardingScreen) -> None:
    await fill(pilot, "#erp-path", "erp-export.csv")
    await pilot.press("enter")
    await until(pilot, lambda: screen.upload is not None, what="preview")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_connect_erp(snap_compare, wizard_app, at_step, size):
    at_step("connect_erp")

    async def before(pilot):
        screen = await open_wizard(pilot)
        await preview(pilot, screen)
        await still(pilot)

    assert snap_compare(wizard_app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_import_jobs(snap_compare, wizard_app, at_step, size):
    at_step("connect_erp")

    async def before(pilot):
        screen = await open_wizard(pilot)
        await preview(pilot, screen)
        await pilot.press("f4")
        await until(pilot, lambda: screen.showing == "import_jobs", what="import step")
        await still(pilot)

    assert snap_compare(wizard_app, terminal_size=size, run_before=before)


def test_import_jobs_high_contrast(snap_compare, wizard_app, at_step):
    at_step("connect_erp")

    async def before(pilot):
        await pilot.press("f9")
        screen = await open_wizard(pilot)
        await preview(pilot, screen)
        await pilot.press("f4")
        await until(pilot, lambda: screen.showing == "import_jobs", what="import step")
        await still(pilot)

    assert snap_compare(wizard_app, terminal_size=(80, 24), run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_configure_machines(snap_compare, wizard_app, at_step, size):
    at_step("configure_machines", {"connect_erp": {"file_name": "erp-export.csv", "rows": 4},
                                   "import_jobs": {"imported": 2, "skipped": 2}})

    async def before(pilot):
        screen = await open_wizard(pilot)
        table = screen.query_one("#wm-table")
        await until(pilot, lambda: table.row_count == 3, what="machines")
        await still(pilot)

    assert snap_compare(wizard_app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_setup_roles(snap_compare, wizard_app, at_step, size):
    at_step("setup_roles", {"connect_erp": {}, "import_jobs": {"status": "skipped"}, "configure_machines": {}})

    async def before(pilot):
        await open_wizard(pilot)
        await still(pilot)

    assert snap_compare(wizard_app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_invite_team(snap_compare, wizard_app, at_step, in_utc, size):
    at_step("invite_team", {"connect_erp": {}, "import_jobs": {}, "configure_machines": {}, "setup_roles": {}})

    async def before(pilot):
        screen = await open_wizard(pilot)
        sample = NewInvite(id=uuid.UUID(int=1), code_hint="K7MX-····", role="supervisor", created_by=uuid.UUID(int=2),
                           created_at=datetime(2026, 9, 1, 8, 0, tzinfo=UTC),
                           expires_at=datetime(2026, 9, 3, 8, 0, tzinfo=UTC), code="K7MX-3QPD")
        screen.query_one(InvitePane).show_code(sample)
        await still(pilot)

    assert snap_compare(wizard_app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_complete(snap_compare, wizard_app, at_step, size):
    at_step("complete", {"connect_erp": {"file_name": "erp-export.csv", "rows": 4, "valid": 2, "invalid": 2},
                         "import_jobs": {"file_name": "erp-export.csv", "imported": 2, "skipped": 2},
                         "configure_machines": {"machines": 3}, "setup_roles": {"status": "skipped"},
                         "invite_team": {"invites": 2}})

    async def before(pilot):
        await open_wizard(pilot)
        await still(pilot)

    assert snap_compare(wizard_app, terminal_size=size, run_before=before)
