"""Every endpoint declares a permission anyone can hold; public routes are listed here."""

from __future__ import annotations

import re
import uuid

import httpx

from factoryos.identity.permissions import KNOWN_PERMISSIONS
from server.api import PUBLIC
from server.app import all_endpoints

# Deliberately public. The setup routes authenticate the account themselves (it may not
# belong to a company yet, so the framework's company-scoped check cannot apply).
PUBLIC_ROUTES = {
    ("GET", "/api/v1/system/health"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/setup"),
    ("POST", "/api/v1/setup/owner"),
    ("POST", "/api/v1/invites/accept"),
    ("GET", "/api/v1/auth/config"),  # what the sign-in screen offers for an email's domain
    # OpenID Connect sign-in: the person is not signed in yet; the provider vouches for them.
    ("POST", "/api/v1/auth/sso/device"),
    ("POST", "/api/v1/auth/sso/device/poll"),
    ("GET", "/api/v1/auth/sso/oidc/{provider_id:uuid}/start"),
    ("GET", "/api/v1/auth/sso/oidc/callback"),
    # SCIM 2.0: the caller is a company's SCIM token, which each handler checks itself.
    *{(m, f"/scim/v2/{p}") for m, p in (("GET", "ServiceProviderConfig"), ("GET", "Schemas"),
                                        ("GET", "Schemas/{schema_id}"), ("GET", "ResourceTypes"),
                                        ("GET", "ResourceTypes/{type_id}"))},
    *{(m, f"/scim/v2/{kind}") for m in ("GET", "POST") for kind in ("Users", "Groups")},
    *{(m, "/scim/v2/Users/{user_id}") for m in ("GET", "PUT", "PATCH", "DELETE")},
    *{(m, "/scim/v2/Groups/{group_id}") for m in ("GET", "PUT", "PATCH", "DELETE")},
    # SAML 2.0: our SP metadata and ACS are for the identity provider and the person's browser.
    ("GET", "/api/v1/auth/sso/saml/{company_id:uuid}/{provider_id:uuid}/metadata"),
    ("GET", "/api/v1/auth/sso/saml/{company_id:uuid}/{provider_id:uuid}/start"),
    ("GET", "/api/v1/auth/sso/saml/{company_id:uuid}/{provider_id:uuid}/device"),
    ("POST", "/api/v1/auth/sso/saml/{company_id:uuid}/{provider_id:uuid}/acs"),
    ("POST", "/api/v1/auth/sso/saml/device"),
    ("POST", "/api/v1/auth/sso/saml/device/poll"),
    # A signature's re-authentication: the page the person's browser opens (the code binds it).
    ("GET", "/api/v1/auth/sso/go/{company_id:uuid}"),
    # A site edge's own call: the edge's bearer token, which the handler checks itself.
    ("GET", "/api/v1/edge/config"),
}

_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def concrete(path: str) -> str:
    return _PARAM.sub(lambda m: "1" if m.group(2) == "int" else str(uuid.uuid4()), path)


def test_every_route_declares_a_known_permission() -> None:
    unknown = [
        f"{ep.method} {ep.path}: {ep.permission!r}"
        for ep in all_endpoints()
        if ep.permission != PUBLIC and ep.permission not in KNOWN_PERMISSIONS
    ]
    assert not unknown, "routes with a permission nobody can hold:\n" + "\n".join(unknown)


def test_public_routes_are_exactly_the_listed_ones() -> None:
    public = {(ep.method, ep.path) for ep in all_endpoints() if ep.permission == PUBLIC}
    assert public == PUBLIC_ROUTES


def test_every_protected_route_refuses_anonymous_and_forged_tokens(http: httpx.Client) -> None:
    forged = "Bearer " + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    for ep in all_endpoints():
        if ep.permission == PUBLIC:
            continue
        for headers, code in (({}, "missing_token"), ({"Authorization": forged}, "invalid_token")):
            r = http.request(ep.method, concrete(ep.path), headers=headers, json={})
            if (ep.body is not None or ep.query is not None) and r.status_code == 422:
                continue  # the framework validates input before authenticating
            assert r.status_code == 401, (ep.method, ep.path, r.text)
            assert r.json()["code"] == code


def test_openapi_marks_each_operation_with_its_permission(http: httpx.Client) -> None:
    spec = http.get("/api/v1/openapi.json").json()
    for ep in all_endpoints():
        op = spec["paths"][_PARAM.sub(lambda m: "{" + m.group(1) + "}", ep.path)][ep.method.lower()]
        assert op["x-permission"] == ep.permission
