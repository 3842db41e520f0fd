"""Admin › Sign-in at 80×24: the SCIM line says whether provisioning is on; R issues the token
(shown once, with the address to give the identity provider) and rotates it, the old one
working on for the overlap chosen."""

from __future__ import annotations

import uuid

import httpx
from textual.widgets import Select, TextArea

from tests.accounts import new_company
from tests.tui.pilot import signed_in, text_of, until
from tui.screens.admin import AdminScreen
from tui.screens.sso_admin import ScimTokenDialog


def _works(api: httpx.Client, token: str) -> bool:
    return api.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 200


async def test_admin_issues_and_rotates_the_scim_token(app_factory, api: httpx.Client) -> None:
    domain = f"scim-{uuid.uuid4().hex[:8]}.example.com"
    owner = new_company(api, email=f"owner@{domain}")
    r = api.post("/api/v1/sso/providers", headers=owner.headers, json={
        "kind": "oidc", "name": "Entra", "email_domains": [domain],
        "config": {"issuer": "https://login.invalid/t/v2.0", "client_id": "factoryos"}})
    assert r.status_code == 201, r.text
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, owner.password)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin screen")
        await pilot.press("f4")
        await until(pilot, lambda: "SCIM provisioning: off" in text_of(pilot, "#sso-scim-line"), what="SCIM line")
        line = app.screen.query_one("#sso-scim-line")
        assert line.region.bottom <= 24 and line.region.width > 0

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ScimTokenDialog), what="SCIM dialog")
        assert "/scim/v2" in text_of(pilot, "#scim-url") and app.screen.query_one("#scim-provider", Select).value
        await pilot.press("ctrl+s")
        box = app.screen.query_one("#scim-token", TextArea)
        await until(pilot, lambda: box.text.startswith("scim_"), what="the token, shown once")
        first = box.text
        assert "not shown again" in text_of(pilot, "#scim-result") and _works(api, first)
        assert app.screen.query_one("#scim-dialog").region.bottom <= 24
        await pilot.press("escape")
        await until(pilot, lambda: first[-6:] in text_of(pilot, "#sso-scim-line"), what="SCIM line on")
        assert "SCIM: on" in text_of(pilot, "#sso-scim-line") and "Entra" in text_of(pilot, "#sso-scim-line")

        # Rotate with a day of overlap: both tokens work, and the dialog says how long the old one does.
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ScimTokenDialog), what="SCIM dialog")
        app.screen.query_one("#scim-overlap", Select).value = 24 * 60
        await pilot.press("ctrl+s")
        box = app.screen.query_one("#scim-token", TextArea)
        await until(pilot, lambda: box.text.startswith("scim_") and box.text != first, what="a new token")
        assert "keeps working for 1 day" in text_of(pilot, "#scim-result")
        assert _works(api, first) and _works(api, box.text)
        await pilot.press("escape")
