"""Every SAML route answers as the OpenAPI document says, success and problem responses alike
(against the real pysaml2 identity provider of tests/sso/saml_idp.py)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.accounts import new_company
from tests.production.spec_check import SpecChecker
from tests.sso.saml_idp import USERS, Browser, add_saml_provider, sp_path, start_idp

pytestmark = pytest.mark.slow
P = "/api/v1/auth/sso/saml"
ROUTES = {("GET", P + "/{company_id}/{provider_id}/metadata"), ("GET", P + "/{company_id}/{provider_id}/start"),
          ("GET", P + "/{company_id}/{provider_id}/device"), ("POST", P + "/{company_id}/{provider_id}/acs"),
          ("POST", P + "/device"), ("POST", P + "/device/poll")}


def test_every_saml_route_answers_as_documented(live_server) -> None:
    idp = start_idp()
    with httpx.Client(base_url=live_server.url) as client:
        seen = SpecChecker(client.get("/api/v1/openapi.json").json())
    try:
        with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
            def call(method: str, path: str, expect: int, **kw) -> httpx.Response:
                r = api.request(method, path, **kw)
                assert r.status_code == expect, f"{method} {path}: {r.text}"
                return r

            owner = new_company(api)
            p = add_saml_provider(api, owner, idp, name="Contract SAML", domains=["contract-saml.example.com"])
            company, pid = owner.tenant_id, p["id"]
            call("GET", sp_path(company, pid, "metadata"), 200)
            call("GET", sp_path(company, str(uuid.uuid4()), "metadata"), 404)
            call("GET", sp_path(company, pid, "start"), 302)
            start = call("POST", P + "/device", 200, json={"email": USERS["cora"]["email"]}).json()
            call("POST", P + "/device", 404, json={"email": "x@nowhere.example.com"})
            call("POST", P + "/device", 422, json={})
            call("POST", P + "/device/poll", 200, json={"handle": start["handle"]})
            call("POST", P + "/device/poll", 422, json={"handle": "saml." + "x" * 40})
            call("GET", sp_path(company, pid, "device"), 200)
            call("GET", sp_path(company, pid, "device"), 200, params={"code": "BCDF-GHJK"})
            browser = Browser("cora")
            try:
                browser.visit(start["verification_uri_complete"], stop_before_sp=True)
            finally:
                browser.close()
            acs, fields = browser.saml_posts[-1]
            call("POST", acs.removeprefix(live_server.url), 200, data=fields)
            call("POST", acs.removeprefix(live_server.url), 409, data=fields)
            call("POST", sp_path(company, pid, "acs"), 422, data={"RelayState": "x"})
            call("POST", P + "/device/poll", 200, json={"handle": start["handle"]})
            call("POST", P + "/device/poll", 409, json={"handle": start["handle"]})
    finally:
        idp.stop()
    assert ROUTES - seen.seen == set()
