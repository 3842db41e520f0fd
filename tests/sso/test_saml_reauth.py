"""A person who signs in only through SAML signs a record: at the moment of signing the SP asks
the real identity provider (pysaml2, tests/sso/saml_idp.py) for a fresh sign-in (ForceAuthn)
through the terminal hand-off, and the signature records it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from tests.accounts import bearer, new_company
from tests.nonconformances.support import NC, disposition, open_nc
from tests.production import plant as plant_builder
from tests.sso.saml_idp import USERS, Browser, SamlIdp, add_saml_provider, start_idp

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def idp() -> Iterator[SamlIdp]:
    provider = start_idp()
    yield provider
    provider.stop()


def test_a_saml_person_signs_after_a_forced_sign_in(http: httpx.Client, idp: SamlIdp, superuser_engine) -> None:
    owner = new_company(http)
    p = add_saml_provider(http, owner, idp, name="Reauth SAML", domains=["reauth-saml.example.com"])
    rules = [{"group": "mes-supervisors", "role": "supervisor", "granted": ["quality.approve"]}]
    assert http.patch(f"/api/v1/sso/providers/{p['id']}", json={"rules": rules},
                      headers=owner.headers).status_code == 200
    s = http.post("/api/v1/auth/sso/device", json={"email": USERS["rita"]["email"]}).json()
    b = Browser("rita")
    try:
        b.visit(s["verification_uri_complete"])
    finally:
        b.close()
    signed_in = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert signed_in.status_code == 200, signed_in.text
    rita = bearer(signed_in.json()["sign_in"]["access_token"])
    assert idp.force_authn[-1] is False  # an ordinary sign-in may reuse the IdP's session

    site = plant_builder.site(http, owner)
    nc = open_nc(http, owner, plant_builder.machine(http, owner, site["id"])["id"])
    disposition(http, owner, nc["id"])
    started = http.post("/api/v1/auth/sso/reauth", json={}, headers=rita).json()
    assert started["provider_name"] == "Reauth SAML"
    b = Browser("rita")
    try:
        page = b.visit(started["verification_uri_complete"])
    finally:
        b.close()
    assert "go back to your terminal" in page.text, page.text
    assert idp.force_authn[-1] is True
    status = http.get("/api/v1/auth/sso/reauth/status", params={"handle": started["handle"]}, headers=rita).json()
    assert status["status"] == "confirmed"
    r = http.post(f"{NC}/{nc['id']}/close", headers=rita, json={"signature": {
        "meaning": "approved", "reason": "Checked", "reauth": started["handle"]}})
    assert r.status_code == 200, r.text
    assert r.json()["signatures"][-1]["method"] == "sso:saml"
    with superuser_engine.connect() as conn:
        after = conn.execute(text("select after from audit_log where tenant_id = :t and action = 'sign'"),
                             {"t": owner.tenant_id}).scalars().all()[-1]
    assert after["reauth"]["provider"] == "Reauth SAML" and after["reauth"]["subject"] == "subject-rita"
