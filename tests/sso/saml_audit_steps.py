"""The route audit walk's steps for SAML sign-in (server/routes/sso_saml.py): a real pysaml2
identity provider (tests/sso/saml_idp.py) is started for them and stopped when the tests end."""

from __future__ import annotations

import atexit

from tests.accounts import session_of
from tests.audit.walk import Expect, Walk, step
from tests.sso.saml_idp import Browser, add_saml_provider, start_idp

P = "/api/v1/auth/sso/saml"


def _provider(w: Walk) -> str:
    if "saml_provider_id" not in w.state:
        idp = start_idp()
        atexit.register(idp.stop)
        w.state["saml_provider_id"] = add_saml_provider(w.http, w.owner, idp, name="Walk SAML",
                                                        domains=["walk-saml.example.com"])["id"]
    return w.state["saml_provider_id"]


def _start(w: Walk) -> dict:
    pid = _provider(w)
    return w.call("POST", P + "/device", json={"company_id": w.owner.tenant_id, "provider_id": pid}).json()


def _answer(started: dict) -> tuple[str, dict[str, str]]:
    browser = Browser("walt")
    try:
        browser.visit(started["verification_uri_complete"], stop_before_sp=True)
    finally:
        browser.close()
    return browser.saml_posts[-1]


@step("POST /api/v1/auth/sso/saml/device")
def _saml_device_start(w: Walk) -> Expect:
    started = _start(w)
    return Expect("sso_device_started", "sso_provider", started["provider_id"], "event")


@step("POST /api/v1/auth/sso/saml/{company_id:uuid}/{provider_id:uuid}/acs")
def _saml_acs(w: Walk) -> Expect:
    started = _start(w)
    w.state["saml_started"] = started
    acs, fields = _answer(started)
    w.call("POST", acs.removeprefix(str(w.http.base_url).rstrip("/")), who=False, data=fields)
    return Expect("sso_device_completed", "sso_provider", started["provider_id"], "event")


@step("POST /api/v1/auth/sso/saml/device/poll")
def _saml_device_poll(w: Walk) -> Expect:
    started = w.state.get("saml_started")
    if started is None:
        started = _start(w)
        acs, fields = _answer(started)
        w.call("POST", acs.removeprefix(str(w.http.base_url).rstrip("/")), who=False, data=fields)
    answer = w.call("POST", P + "/device/poll", json={"handle": started["handle"]}).json()
    assert answer["status"] == "signed_in", answer
    w.state["saml_walt"] = session_of(answer["sign_in"], answer["sign_in"]["account"]["email"])
    return Expect("login", "session", answer["sign_in"]["session_id"], "event")


@step("POST /api/v1/auth/sso/reauth")
def _sso_reauth_start(w: Walk) -> Expect:
    """Walt signed in through SAML in the poll step: he confirms himself before signing."""
    if "saml_walt" not in w.state:
        _saml_device_poll(w)
    started = w.call("POST", "/api/v1/auth/sso/reauth", who=w.state["saml_walt"], json={}).json()
    return Expect("sso_reauth_started", "sso_provider", started["provider_id"], "event")
