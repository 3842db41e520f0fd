"""The route audit walk's steps for the sso routes (see tests/audit/walk.py).

The walk has no directory: its provider points at a closed port, which is all the provider
routes and the Test button need (the test answers "cannot be reached", and is audited)."""

from __future__ import annotations

import uuid

from tests.audit.walk import Expect, Walk, step


def _provider_body(name: str) -> dict:
    return {"kind": "ldap", "name": name, "email_domains": [f"walk-{uuid.uuid4().hex[:8]}.example.com"],
            "config": {"urls": ["ldaps://127.0.0.1:9"], "bind_dn": "cn=svc,dc=walk,dc=test",
                       "user_base": "ou=people,dc=walk,dc=test", "timeout_seconds": 1},
            "secret": "walk-service-secret", "rules": [{"group": "operators", "role": "operator"}]}


@step("POST /api/v1/sso/providers")
def _sso_create(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/sso/providers", json=_provider_body("Walk AD"))
    w.state["sso_provider"] = r.json()
    return Expect("create", "sso_provider", r.json()["id"], "create")


@step("PATCH /api/v1/sso/providers/{provider_id:uuid}")
def _sso_update(w: Walk) -> Expect:
    p = w.state["sso_provider"]
    w.call("PATCH", f"/api/v1/sso/providers/{p['id']}",
           json={"rules": [{"group": "supervisors", "role": "supervisor"}, {"group": "operators", "role": "operator"}]})
    return Expect("update", "sso_provider", p["id"], "update")


@step("POST /api/v1/sso/providers/{provider_id:uuid}/test")
def _sso_test(w: Walk) -> Expect:
    p = w.state["sso_provider"]
    r = w.call("POST", f"/api/v1/sso/providers/{p['id']}/test", json={"username": "ada@walk.example.com"})
    assert r.json()["ok"] is False
    return Expect("test", "sso_provider", p["id"], "event")


@step("PATCH /api/v1/sso/settings")
def _sso_settings(w: Walk) -> Expect:
    w.call("PATCH", "/api/v1/sso/settings", json={"require_sso": True})  # undone by the next step
    return Expect("update", "sso_settings", w.owner.tenant_id, "update")


@step("DELETE /api/v1/sso/providers/{provider_id:uuid}")
def _sso_delete(w: Walk) -> Expect:
    w.call("PATCH", "/api/v1/sso/settings", json={"require_sso": False})  # the walk's members use passwords
    doomed = w.call("POST", "/api/v1/sso/providers", json=_provider_body("Doomed AD")).json()
    w.call("DELETE", f"/api/v1/sso/providers/{doomed['id']}")
    return Expect("delete", "sso_provider", doomed["id"], "delete")


# OpenID Connect's steps (engineer SB's routes) live in their own module.
try:
    import tests.sso.oidc_audit_steps  # noqa: F401
except ModuleNotFoundError as exc:
    if exc.name != "tests.sso.oidc_audit_steps":
        raise

# Per-machine certification's step (PUT /users/{id}/machines) lives in its own module.
import tests.sso.certification_audit_steps  # noqa: E402,F401

# SAML's steps (server/routes/sso_saml.py) live in their own module.
import tests.sso.saml_audit_steps  # noqa: E402,F401

# SCIM's steps (the company's token, then the SCIM calls made with it) live in their own module.
import tests.sso.scim_audit_steps  # noqa: E402,F401
