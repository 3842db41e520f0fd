"""SAML 2.0 sign-in through the real API against a real identity provider (pysaml2's IdP side,
signing with xmlsec1, on loopback; tests/sso/saml_idp.py), the browser leg driven by httpx
through the real redirects and form posts: a terminal's hand-off (code + page, then poll) and a
browser sign-in end in a FactoryOS session with the mapped role; every forged, foreign, expired
or replayed answer is refused with its code and audited."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.accounts import bearer, join, login, new_company
from tests.sso.saml_idp import USERS, Browser, Misbehaviour, SamlIdp, add_saml_provider, sp_path, start_idp

pytestmark = pytest.mark.slow

DOMAIN = "saml-plant.example.com"


def audit_rows(superuser_engine, tenant_id: str, action: str, since: int = 0) -> list[dict[str, Any]]:
    with superuser_engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            text("select * from audit_log where tenant_id = :t and action = :a and seq > :s order by seq"),
            {"t": tenant_id, "a": action, "s": since}).mappings()]


def head(superuser_engine, tenant_id: str) -> int:
    with superuser_engine.connect() as conn:
        return conn.execute(text("select coalesce(max(seq), 0) from audit_log where tenant_id = :t"),
                            {"t": tenant_id}).scalar_one()


@pytest.fixture(scope="module")
def idp() -> Iterator[SamlIdp]:
    provider = start_idp()
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def well_behaved(idp: SamlIdp) -> Iterator[None]:
    idp.misbehave = Misbehaviour()
    yield
    idp.misbehave = Misbehaviour()


@pytest.fixture(scope="module")
def plant(live_server, idp) -> dict[str, Any]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        owner = new_company(http)
        main = add_saml_provider(http, owner, idp, name="Plant AD FS", domains=[DOMAIN])
        # The same IdP, a second SP of ours with no clock allowance (the expiry test).
        strict = add_saml_provider(http, owner, idp, name="Strict SAML", clock_skew_seconds=0)
    return {"owner": owner, "provider": main, "strict": strict}


def terminal_start(http: httpx.Client, plant: dict[str, Any], provider: str = "provider") -> dict[str, Any]:
    if provider == "provider":
        r = http.post("/api/v1/auth/sso/device", json={"email": USERS["sam"]["email"]})
    else:
        r = http.post("/api/v1/auth/sso/device", json={"company_id": plant["owner"].tenant_id,
                                                       "provider_id": plant[provider]["id"]})
    assert r.status_code == 200, r.text
    return r.json()


def captured_response(started: dict[str, Any], user: str = "sam") -> tuple[str, dict[str, str]]:
    """The IdP's signed answer as its page would post it to our ACS (not posted yet)."""
    browser = Browser(user)
    try:
        browser.visit(started["verification_uri_complete"], stop_before_sp=True)
    finally:
        browser.close()
    return browser.saml_posts[-1]


def test_sp_metadata_is_served_at_a_stable_url(http, plant):
    p, owner = plant["provider"], plant["owner"]
    url = http.base_url.join(sp_path(owner.tenant_id, p["id"], "metadata"))
    answer = http.get(url)
    assert answer.headers["content-type"].startswith("application/samlmetadata+xml")
    xml = answer.text
    assert f'entityID="{url}"' in xml
    assert f'Location="{str(url).removesuffix("metadata")}acs"' in xml and "HTTP-POST" in xml
    assert 'WantAssertionsSigned="true"' in xml
    # Not a SAML provider (or another company's id): not found, nothing said about it.
    other = http.get(sp_path(str(uuid.uuid4()), p["id"], "metadata"))
    assert other.status_code == 404 and other.json()["code"] == "sso_no_provider"
    assert p["config"]["idp_metadata_xml"].startswith("<") and "signing" in p["config"]["idp_metadata_xml"]


def test_unusable_metadata_is_refused_at_the_field(http, plant):
    owner = plant["owner"]
    for config, field in (({"idp_metadata_xml": "<not-metadata/>"}, "config.idp_metadata_xml"),
                          ({"idp_metadata_url": "http://127.0.0.1:9/metadata"}, "config.idp_metadata_url")):
        r = http.post("/api/v1/sso/providers", headers=owner.headers,
                      json={"kind": "saml", "name": f"Broken {uuid.uuid4().hex[:4]}", "config": config})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "saml_metadata_invalid" and r.json()["field"] == field


def test_terminal_signs_in_with_a_code_entered_in_a_browser(http, plant, idp, superuser_engine):
    tenant = plant["owner"].tenant_id
    s = terminal_start(http, plant)
    assert s["handle"].startswith("saml.") and s["provider_name"] == "Plant AD FS"
    assert s["user_code"] in s["verification_uri_complete"] and s["verification_uri"].endswith("/device")
    pending = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert pending.status_code == 200 and pending.json()["status"] == "pending"

    # The person types the code on the page (the plain link, as a person reads it off the screen).
    browser = Browser("sam")
    try:
        page = browser.http.get(s["verification_uri"])
        assert "Type the code" in page.text
        done_page = browser.visit(f"{s['verification_uri']}?code={s['user_code'].lower().replace('-', '')}")
    finally:
        browser.close()
    assert done_page.status_code == 200 and "go back to your terminal" in done_page.text, done_page.text
    assert idp.logins[-1] == "sam"

    done = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert done.status_code == 200, done.text
    signin = done.json()["sign_in"]
    assert signin["account"]["email"] == USERS["sam"]["email"] and signin["company"]["id"] == tenant
    me = http.get("/api/v1/auth/me", headers=bearer(signin["access_token"])).json()
    assert me["role"] == "supervisor"  # mes-supervisors → supervisor, account made just in time
    logins = [r for r in audit_rows(superuser_engine, tenant, "login")
              if r["actor_id"] == uuid.UUID(signin["account"]["id"])]
    assert logins and logins[-1]["after"]["method"] == "sso:saml"
    assert audit_rows(superuser_engine, tenant, "sso_device_completed")[-1]["after"]["email"] == USERS["sam"]["email"]

    since = head(superuser_engine, tenant)
    again = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert again.status_code == 409 and again.json()["code"] == "sso_device_code_used"
    assert [r["after"]["reason"] for r in audit_rows(superuser_engine, tenant, "login_failed", since)] == \
        ["sso_device_code_used"]
    forged = http.post("/api/v1/auth/sso/device/poll", json={"handle": "saml." + "x" * 60})
    assert forged.status_code == 422 and forged.json()["code"] == "sso_flow_invalid"


def test_browser_signs_in(live_server, plant, idp):
    p, owner = plant["provider"], plant["owner"]
    browser = Browser("ana")
    try:
        answer = browser.visit(live_server.url + sp_path(owner.tenant_id, p["id"], "start"))
    finally:
        browser.close()
    assert answer.status_code == 200, answer.text
    signin = answer.json()
    assert signin["account"]["email"] == USERS["ana"]["email"] and signin["company"]["role"] == "operator"


def test_a_replayed_assertion_is_refused(http, plant, superuser_engine):
    tenant = plant["owner"].tenant_id
    s = terminal_start(http, plant)
    acs, fields = captured_response(s)
    first = http.post(acs, data=fields)
    assert first.status_code == 200, first.text
    since = head(superuser_engine, tenant)
    replay = http.post(acs, data=fields)
    assert replay.status_code == 409 and replay.json()["code"] == "saml_assertion_replayed"
    assert [r["after"]["reason"] for r in audit_rows(superuser_engine, tenant, "login_failed", since)] == \
        ["saml_assertion_replayed"]
    # The first post still signs the terminal in; the replay took nothing from it.
    assert http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]}).json()["status"] == "signed_in"
    with superuser_engine.connect() as conn:
        kept = conn.execute(text("select expires_at > now() from saml_assertions_used where tenant_id = :t"),
                            {"t": tenant}).scalars().all()
    assert kept and all(kept)


@pytest.mark.parametrize(("bad", "code"), [
    (Misbehaviour(unsigned=True), "saml_signature_invalid"),
    (Misbehaviour(other_key=True), "saml_signature_invalid"),
    (Misbehaviour(audience="https://another-service.example.com/sp"), "saml_wrong_audience"),
])
def test_forged_or_foreign_answers_are_refused(http, plant, idp, superuser_engine, bad, code):
    tenant = plant["owner"].tenant_id
    s = terminal_start(http, plant)
    idp.misbehave = bad
    acs, fields = captured_response(s)
    since = head(superuser_engine, tenant)
    answer = http.post(acs, data=fields)
    assert answer.status_code == 401 and answer.json()["code"] == code, answer.text
    assert answer.json()["provider"] == "Plant AD FS"
    failed = audit_rows(superuser_engine, tenant, "login_failed", since)
    assert [r["after"]["reason"] for r in failed] == [code]
    assert str(failed[0]["entity_id"]) == plant["provider"]["id"]
    # The terminal learns why, once.
    polled = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert polled.status_code == 401 and polled.json()["code"] == code, polled.text


def test_another_providers_response_is_refused(http, plant):
    """An answer the IdP made for our other SP (another entity id and ACS) posted to this one."""
    ours = terminal_start(http, plant)
    theirs = terminal_start(http, plant, "strict")
    their_acs, their_fields = captured_response(theirs)
    our_acs, our_fields = captured_response(ours)
    assert their_acs != our_acs
    answer = http.post(our_acs, data={**their_fields, "RelayState": our_fields["RelayState"]})
    assert answer.status_code == 401 and answer.json()["code"] in ("saml_wrong_audience", "saml_wrong_request")


def test_an_expired_assertion_is_refused(http, plant, idp):
    s = terminal_start(http, plant, "strict")
    idp.misbehave = Misbehaviour(lifetime_seconds=1)
    acs, fields = captured_response(s)
    time.sleep(2.5)
    answer = http.post(acs, data=fields)
    assert answer.status_code == 401 and answer.json()["code"] == "saml_assertion_expired", answer.text


def test_unknown_relay_state_is_refused(http, plant):
    p, owner = plant["provider"], plant["owner"]
    r = http.post(sp_path(owner.tenant_id, p["id"], "acs"), data={"SAMLResponse": "PHg+", "RelayState": "nope"})
    assert r.status_code == 422 and r.json()["code"] == "sso_flow_invalid"


def test_admin_test_reads_metadata_and_certificate_dates(http, plant):
    p, owner = plant["provider"], plant["owner"]
    r = http.post(f"/api/v1/sso/providers/{p['id']}/test", json={}, headers=owner.headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["ok"] is True and "valid today" in out["summary"]
    assert any("certificate valid until" in s["message"] for s in out["steps"])


def test_expired_idp_certificate_is_refused_and_said_by_test(http, live_server, superuser_engine):
    old = start_idp(expired_cert=True)
    try:
        owner = new_company(http)
        p = add_saml_provider(http, owner, old, name="Old IdP")
        test = http.post(f"/api/v1/sso/providers/{p['id']}/test", json={}, headers=owner.headers).json()
        assert test["ok"] is False and "certificate expired on" in " ".join(s["message"] for s in test["steps"])
        s = http.post("/api/v1/auth/sso/device", json={"company_id": owner.tenant_id, "provider_id": p["id"]}).json()
        page = http.get(s["verification_uri_complete"])
        assert page.status_code == 401 and page.json()["code"] == "saml_idp_certificate_expired"
        failed = audit_rows(superuser_engine, owner.tenant_id, "login_failed")
        assert failed[-1]["after"]["reason"] == "saml_idp_certificate_expired"
    finally:
        old.stop()



def test_an_unreachable_idp_is_named_and_the_break_glass_owner_still_signs_in(http, live_server, superuser_engine):
    """The IdP is down: Test names it and says it cannot be reached (audited); saving again is
    refused at the URL field; with SSO required, the owner's local password still works and
    other local accounts are still refused."""
    gone = start_idp()
    domain = f"down-{uuid.uuid4().hex[:8]}.example.com"
    owner = new_company(http, email=f"owner@{domain}")
    local = join(http, owner, "operator")
    p = add_saml_provider(http, owner, gone, name="Plant AD FS down", domains=[domain])
    assert http.patch("/api/v1/sso/settings", json={"require_sso": True}, headers=owner.headers).status_code == 200
    gone.stop()

    test = http.post(f"/api/v1/sso/providers/{p['id']}/test", json={}, headers=owner.headers)
    assert test.status_code == 200 and test.json()["ok"] is False, test.text
    assert "Plant AD FS down" in test.json()["summary"] and "cannot be reached" in test.json()["summary"]
    audited = audit_rows(superuser_engine, owner.tenant_id, "test")
    assert audited[-1]["after"]["ok"] is False and "cannot be reached" in audited[-1]["after"]["summary"]
    again = http.patch(f"/api/v1/sso/providers/{p['id']}", json={"config": {"idp_metadata_url": gone.metadata_url}},
                       headers=owner.headers)
    assert again.status_code == 422 and again.json()["code"] == "saml_metadata_invalid", again.text
    assert again.json()["field"] == "config.idp_metadata_url"

    assert login(http, owner.email).status_code == 200  # break-glass: password (+ TOTP when enrolled)
    refused = login(http, local.email)
    assert refused.status_code == 403 and refused.json()["code"] == "sso_required", refused.text
