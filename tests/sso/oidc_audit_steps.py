"""The route audit walk's steps for OpenID Connect sign-in (server/routes/sso_oidc.py): a real
provider (tests/sso/oidc_support.py) is started for them and stopped when the tests end."""

from __future__ import annotations

import atexit

from tests.audit.walk import Expect, Walk, step
from tests.sso.oidc_support import CLIENT, SECRET, Person, start_provider


def _oidc_provider(w: Walk) -> str:
    if "oidc_provider_id" not in w.state:
        op = start_provider([])
        atexit.register(op.stop)
        body = {"kind": "oidc", "name": "Walk OIDC", "email_domains": ["walk-oidc.example.com"],
                "config": {"issuer": op.issuer, "client_id": CLIENT, "scopes": ["openid", "email", "profile", "groups"]},
                "secret": SECRET, "rules": [{"group": "operators", "role": "operator"}]}
        w.state["oidc_provider_id"] = w.call("POST", "/api/v1/sso/providers", json=body).json()["id"]
    return w.state["oidc_provider_id"]


def _start(w: Walk) -> dict:
    pid = _oidc_provider(w)
    return w.call("POST", "/api/v1/auth/sso/device", json={"company_id": w.owner.tenant_id, "provider_id": pid}).json()


@step("POST /api/v1/auth/sso/device")
def _sso_device_start(w: Walk) -> Expect:
    started = _start(w)
    return Expect("sso_device_started", "sso_provider", started["provider_id"], "event")


@step("POST /api/v1/auth/sso/device/poll")
def _sso_device_poll(w: Walk) -> Expect:
    started = _start(w)
    person = Person("walt")
    try:
        person.visit(started["verification_uri_complete"])
    finally:
        person.close()
    answer = w.call("POST", "/api/v1/auth/sso/device/poll", json={"handle": started["handle"]}).json()
    assert answer["status"] == "signed_in", answer
    return Expect("login", "session", answer["sign_in"]["session_id"], "event")
