"""A person who signs in only through OpenID Connect signs a record (21 CFR Part 11): no password
exists for them, so at the moment of signing they sign in again at the real provider
(oidc-provider under Node; prompt=login, max_age=0, nonce bound to the pending signature) through
the terminal hand-off, and the signature records that provider sign-in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from textual.app import App

from factoryos.client import FactoryClient
from tests.accounts import bearer
from tests.nonconformances.support import NC, disposition, open_nc
from tests.production import plant as plant_builder
from tests.production.spec_check import SpecChecker
from tests.sso.oidc_support import USERS, Person
from tests.tui.pilot import text_of, until
from tui.screens.signature_dialog import SignatureDialog

pytestmark = pytest.mark.slow


def browser(link: str, user: str) -> str:
    person = Person(user)
    try:
        return person.visit(link)
    finally:
        person.close()


def test_an_oidc_person_signs_after_signing_in_again_at_the_provider(http, plant, superuser_engine):
    owner, pid = plant["owner"], plant["provider_id"]
    rules = [{"group": "mes-supervisors", "role": "supervisor", "granted": ["quality.approve"]},
             {"group": "mes-operators", "role": "operator"}]
    r = http.patch(f"/api/v1/sso/providers/{pid}", json={"rules": rules}, headers=owner.headers)
    assert r.status_code == 200, r.text
    s = http.post("/api/v1/auth/sso/device", json={"email": USERS["sam"]["email"]}).json()
    browser(s["verification_uri_complete"], "sam")
    signed_in = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]}).json()
    sam = bearer(signed_in["sign_in"]["access_token"])

    site = plant_builder.site(http, owner)
    nc = open_nc(http, owner, plant_builder.machine(http, owner, site["id"])["id"])
    disposition(http, owner, nc["id"])

    def close(who: dict, signature: dict):
        return http.post(f"{NC}/{nc['id']}/close", headers=who,
                         json={"signature": {"meaning": "approved", "reason": "Reworked and checked", **signature}})

    # No password to type: the answer says how to sign instead.
    r = close(sam, {"password": "anything"})
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (422, "signature_reauth_required",
                                                                    "signature.reauth"), r.text
    assert "Acme Keycloak" in r.json()["detail"]

    spec = SpecChecker(http.get("/api/v1/openapi.json").json())  # the re-authentication routes as documented
    start = http.post("/api/v1/auth/sso/reauth", json={}, headers=sam)
    assert start.status_code == 200, start.text
    spec.check(start)
    spec.check(http.post("/api/v1/auth/sso/reauth", json={}, headers=owner.headers))  # 404: signs with a password
    started = start.json()
    assert started["provider_name"] == "Acme Keycloak" and started["user_code"] in started["verification_uri_complete"]
    status = http.get("/api/v1/auth/sso/reauth/status", params={"handle": started["handle"]}, headers=sam)
    spec.check(status)
    assert status.json()["status"] == "pending"
    page = http.get(started["verification_uri"])
    spec.check(page)
    assert "Type the code" in page.text
    assert {("POST", "/api/v1/auth/sso/reauth"), ("GET", "/api/v1/auth/sso/reauth/status"),
            ("GET", "/api/v1/auth/sso/go/{company_id}")} <= spec.seen
    r = close(sam, {"reauth": started["handle"]})
    assert (r.status_code, r.json()["code"]) == (422, "signature_reauth_pending")

    person = Person("sam")
    try:
        page = person.visit(started["verification_uri_complete"])
        # The provider was asked for a fresh sign-in: its login form was shown although the
        # person had signed in there minutes ago (this browser is new, so also its session).
        assert any("password" in p for p in person.pages)
    finally:
        person.close()
    assert "confirmed who you are" in page, page[:500]
    status = http.get("/api/v1/auth/sso/reauth/status", params={"handle": started["handle"]}, headers=sam).json()
    assert status["status"] == "confirmed"

    # Another person cannot sign with sam's confirmation.
    r = close(owner.headers, {"reauth": started["handle"]})
    assert (r.status_code, r.json()["code"]) == (403, "signature_reauth_invalid"), r.text

    r = close(sam, {"reauth": started["handle"]})
    assert r.status_code == 200, r.text
    signed = r.json()["signatures"][-1]
    assert (signed["signer_email"], signed["method"], signed["valid"]) == (USERS["sam"]["email"], "sso:oidc", True)
    with superuser_engine.connect() as conn:
        row = conn.execute(text("select after from audit_log where tenant_id = :t and action = 'sign' "
                                "and entity_id = :e"), {"t": owner.tenant_id, "e": signed["id"]}).scalar_one()
    assert row["reauth"]["provider"] == "Acme Keycloak" and row["reauth"]["protocol"] == "oidc"
    assert row["reauth"]["subject"] and row["reauth"]["auth_time"]

    # The confirmation signs once: a second record needs a new one.
    other = open_nc(http, owner, plant_builder.machine(http, owner, site["id"])["id"])
    disposition(http, owner, other["id"])
    r = http.post(f"{NC}/{other['id']}/close", headers=sam, json={"signature": {
        "meaning": "approved", "reason": "Same again", "reauth": started["handle"]}})
    assert (r.status_code, r.json()["code"]) == (403, "signature_reauth_invalid"), r.text


class Host(App[None]):
    def __init__(self, dialog: SignatureDialog) -> None:
        super().__init__()
        self.dialog = dialog
        self.result: object = "open"

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self._done)

    def _done(self, result: object) -> None:
        self.result = result


async def test_the_signature_dialog_waits_for_the_provider_and_signs(live_server, http, plant):
    owner, pid = plant["owner"], plant["provider_id"]
    rules = [{"group": "mes-supervisors", "role": "supervisor", "granted": ["quality.approve"]},
             {"group": "mes-operators", "role": "operator"}]
    assert http.patch(f"/api/v1/sso/providers/{pid}", json={"rules": rules}, headers=owner.headers).status_code == 200
    site = plant_builder.site(http, owner)
    nc = open_nc(http, owner, plant_builder.machine(http, owner, site["id"])["id"])
    disposition(http, owner, nc["id"])
    async with FactoryClient(live_server.url) as api:
        started = await api.sso_device_start(email=USERS["sam"]["email"])
        await asyncio.to_thread(browser, started.verification_uri_complete or "", "sam")
        assert (await api.sso_device_poll(started.handle)).status == "signed_in"
        dialog = SignatureDialog("Close the NC", submit=lambda sig: api.close_nonconformance(nc["id"], sig), api=api)
        app = Host(dialog)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.click("#sig-password")
            await pilot.press("x", "ctrl+s")  # a password guess: the server says how this person signs
            await until(pilot, lambda: dialog.started is not None, timeout=20, what="the code")
            assert dialog.started is not None
            assert text_of(pilot, "#sig-sso-code") == dialog.started.user_code
            assert "Acme Keycloak" in text_of(pilot, "#sig-sso-page")
            qr = dialog.query_one("#sig-sso-qr-code")
            assert qr.region.right <= 80 and qr.region.bottom <= 24  # the whole QR code is on screen
            await asyncio.to_thread(browser, dialog.started.verification_uri_complete or "", "sam")
            await until(pilot, lambda: app.result != "open", timeout=30, what="signed")
        closed: Any = app.result
        assert closed is not None and closed.signatures[-1].method == "sso:oidc"
