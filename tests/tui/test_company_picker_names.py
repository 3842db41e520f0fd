"""The company picker shows company names as they are, brackets included."""

from __future__ import annotations

from tests.accounts import new_company
from tests.tui.pilot import sign_in, until
from tui.screens.company_picker import CompanyPicker
from tui.screens.home import HomeScreen


async def test_a_company_name_with_brackets_is_shown_and_chosen(app_factory, world, api):
    other = new_company(api, name="Acme [Linz] [/] GmbH")
    code = api.post("/api/v1/invites", json={"role": "supervisor"}, headers=other.headers).json()["code"]
    r = api.post("/api/v1/invites/accept", json={"code": code, "email": world.operator.email,
                                                  "password": world.password})
    assert r.status_code == 201, r.text
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, world.operator.email, world.password)
        await until(pilot, lambda: isinstance(app.screen, CompanyPicker), what="company picker")
        options = app.screen.query_one("#companies")
        await pilot.pause()
        shown = [options.render_line(y).text.strip() for y in range(2)]
        assert "Acme [Linz] [/] GmbH  (Supervisor)" in shown, shown
        await pilot.press(*(["down"] if shown.index("Acme [Linz] [/] GmbH  (Supervisor)") else []), "enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home screen")
        assert str(app.session.me.company.id) == other.tenant_id
        assert str(app.screen.query_one("#home-who").render()).endswith("· Acme [Linz] [/] GmbH")
        await pilot.pause()
