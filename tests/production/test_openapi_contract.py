"""One contract: every route's request and response shapes in the published OpenAPI 3.1
document are exactly its `factoryos` models' schemas, the API client returns those same
models, and every route of every tag answers with JSON that matches the document (success
and problem responses alike)."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pyotp
import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, TypeAdapter

from server.app import all_endpoints
from server.openapi import OWN_JSON_ERRORS, own_json
from tests.accounts import PASSWORD, bearer, join, make_installation_admin, new_company, new_email, owner_body, session_of
from tests.production import plant
from tests.production.spec_check import SpecChecker, inline

TAGS = {"plant", "machines", "shifts", "production", "downtime", "kpis", "catalog"}
OPS_TAGS = {"auth", "setup", "invites", "users", "audit", "system", "connectivity", "onboarding", "jobs", "reports"}
# Tags whose every route another module walks with its own SpecChecker (named here so none is forgotten).
WALKED_ELSEWHERE = {"products": "tests/orders/test_products_contract.py",
                    "dispatch": "tests/orders/test_dispatch_contract.py",
                    "orders": "tests/orders/test_orders_contract.py",
                    "quality": "tests/quality/test_quality_contract.py",
                    "webhooks": "tests/integrations/test_webhooks_contract.py",
                    "materials": "tests/materials/test_materials_contract.py",
                    "maintenance": "tests/maintenance/test_maintenance_contract.py",
                    "nonconformances": "tests/nonconformances/test_nonconformances_contract.py",
                    "sso": "tests/sso/test_sso_contract.py + tests/sso/test_oidc_contract.py",
                    "scim": "tests/sso/test_scim_conformance.py + tests/sso/test_scim_contract.py",
                    "edges": "tests/edge/test_edge_contract.py",
                    "integrations": "tests/integrations/test_mqtt_publish_contract.py"}
REF = "#/components/schemas/{model}"
# Mutating operations that take no body (the path says it all), and why. Any other POST, PUT or PATCH
# must describe its body in the document, whoever reads it (the framework, or the handler itself).
BODILESS = {
    "mfa_enroll": "starts the caller's own enrollment",
    "accept_counter_anomaly": "the decision is the path",
    "discard_counter_anomaly": "the decision is the path",
    "machine_setup_done": "the event is the path",
    "release_bom": "the transition is the path",
    "start_work_order": "the transition is the path",
    "test_webhook": "sends a test delivery to the saved endpoint",
    "retry_webhook_delivery": "retries the named delivery",
    "test_mqtt_publish": "tries the saved settings",
    "rotate_edge": "issues a new credential for the named edge",
    "revoke_edge": "the transition is the path",
}
DAY = "2026-09-01"


@pytest.fixture()
def checked(live_server, spec: SpecChecker) -> Iterator[tuple[httpx.Client, SpecChecker]]:
    """A client with its own record of which operations it saw validated."""
    own = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [own.check]}) as client:
        yield client, own


def test_document_is_valid_openapi_and_the_docs_page_is_offline(api: httpx.Client, spec: SpecChecker) -> None:
    validate(spec.spec)
    ops = {(m.upper(), p) for p, item in spec.spec["paths"].items() for m, op in item.items() if set(op["tags"]) & TAGS}
    assert ("GET", "/api/v1/kpis/oee") in ops and ("POST", "/api/v1/production/entry") in ops
    for path, item in spec.spec["paths"].items():
        for op in item.values():
            if set(op["tags"]) & TAGS:
                assert op["x-permission"] and op["security"], path
    html = api.get("/api/v1/docs").text
    # Offline: its one script and style come from this server, nothing from the internet.
    assert '<script src="docs.js">' in html and "https://" not in html and "http://" not in html
    assert "https://" not in api.get("/api/v1/docs.js").text


def test_every_route_answers_as_documented(checked) -> None:
    api, seen = checked
    owner = new_company(api)
    staff = join(api, owner, "operator")
    h = owner.headers

    def call(method: str, path: str, expect: int, **kw) -> dict | list | None:
        r = api.request(method, path, headers=h, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.text}"
        return r.json() if r.content else None

    # plant
    s = plant.site(api, owner)
    doomed = plant.site(api, owner)
    call("GET", "/api/v1/sites", 200, params={"q": "plant"})
    call("GET", f"/api/v1/sites/{s['id']}", 200)
    call("PATCH", f"/api/v1/sites/{s['id']}", 200, json={"name": "Main plant"})
    call("DELETE", f"/api/v1/sites/{doomed['id']}", 204)
    call("GET", f"/api/v1/sites/{uuid.uuid4()}", 404)
    for who in (owner, staff):
        plant.operator(api, owner, s["id"], who.user_id)
    call("GET", f"/api/v1/sites/{s['id']}/operators", 200)
    call("DELETE", f"/api/v1/sites/{s['id']}/operators/{staff.user_id}", 204)
    area = call("POST", "/api/v1/areas", 201, json={"site_id": s["id"], "name": "Hall", "code": "H1"})
    call("GET", "/api/v1/areas", 200)
    call("GET", f"/api/v1/areas/{area['id']}", 200)
    call("PATCH", f"/api/v1/areas/{area['id']}", 200, json={"name": "Hall 1"})
    ln = plant.line(api, owner, s["id"], area_id=area["id"])
    spare = plant.line(api, owner, s["id"])
    call("GET", "/api/v1/lines", 200, params={"site_id": s["id"]})
    call("GET", f"/api/v1/lines/{ln['id']}", 200)
    call("PATCH", f"/api/v1/lines/{ln['id']}", 200, json={"name": "Assembly"})
    call("DELETE", f"/api/v1/lines/{spare['id']}", 204)
    m = plant.machine(api, owner, s["id"], line_id=ln["id"])
    gone = plant.machine(api, owner, s["id"])
    call("GET", "/api/v1/machines", 200, params={"line_id": ln["id"]})
    call("GET", f"/api/v1/machines/{m['id']}", 200)
    call("PATCH", f"/api/v1/machines/{m['id']}", 200, json={"status_mapping": {"codes": {"1": "running"}}})
    call("DELETE", f"/api/v1/machines/{gone['id']}", 204)
    yard = call("POST", "/api/v1/areas", 201, json={"site_id": s["id"], "name": "Yard", "code": "Y"})
    call("DELETE", f"/api/v1/areas/{yard['id']}", 204)

    # shifts
    early = plant.shift(api, owner, s["id"], "Early", "06:00", "14:00", [("10:00", "10:30")])
    temp = plant.shift(api, owner, s["id"], "Temp", "14:00", "22:00")
    call("GET", "/api/v1/shifts", 200, params={"site_id": s["id"]})
    call("GET", f"/api/v1/shifts/{early['id']}", 200)
    call("PATCH", f"/api/v1/shifts/{temp['id']}", 200, json={"active": False})
    call("DELETE", f"/api/v1/shifts/{temp['id']}", 204)
    call("GET", "/api/v1/shifts/instances", 200, params={"site_id": s["id"], "from": DAY, "to": DAY})

    # production
    ref = {"machine_id": m["id"], "shift_id": early["id"], "shift_date": DAY}
    plan = call("POST", "/api/v1/production/plan", 201, json=ref | {"target_quantity": 100})
    call("GET", "/api/v1/production/plan", 200, params={"machine_id": m["id"]})
    call("GET", f"/api/v1/production/plan/{plan['id']}", 200)
    call("PATCH", f"/api/v1/production/plan/{plan['id']}", 200, json={"job_ref": "J-9"})
    entry = call("POST", "/api/v1/production/entry", 201, json=ref | {"good_quantity": 50})
    call("GET", "/api/v1/production/entry", 200, params={"shift_instance_id": entry["shift_instance_id"]})
    call("GET", f"/api/v1/production/entry/{entry['id']}", 200)
    call("POST", "/api/v1/production/entry", 409, json=ref | {"good_quantity": 5, "started_at": f"{DAY}T05:00:00Z",
                                                             "ended_at": f"{DAY}T05:10:00Z"})
    call("GET", "/api/v1/production/live", 200, params={"site_id": s["id"]})
    call("GET", "/api/v1/production/timeline", 200, params={"machine_id": m["id"], "from": f"{DAY}T05:00:00Z",
                                                         "to": f"{DAY}T13:00:00Z"})
    call("GET", "/api/v1/production/timeline", 422, params={"machine_id": m["id"], "from": f"{DAY}T05:00:00Z",
                                                         "to": f"{DAY}T04:00:00Z"})
    reasons = call("GET", "/api/v1/downtime/reasons", 200)["items"]
    scrap = next(r["id"] for r in reasons if r["code"] == "DEFECT.SURFACE")
    jam = next(r["id"] for r in reasons if r["code"] == "MINOR_STOP.JAM")
    rej = call("POST", "/api/v1/rejections", 201, json=ref | {"quantity": 3, "reason_id": scrap})
    call("GET", "/api/v1/rejections", 200)
    call("GET", f"/api/v1/rejections/{rej['id']}", 200)
    call("DELETE", f"/api/v1/rejections/{rej['id']}", 204)
    call("DELETE", f"/api/v1/production/entry/{entry['id']}", 204)
    call("DELETE", f"/api/v1/production/plan/{plan['id']}", 204)

    # downtime
    reason = call("POST", "/api/v1/downtime/reasons", 201, json={"name": "Power cut", "loss_bucket": "availability",
                                                                 "planned": False})
    call("PATCH", f"/api/v1/downtime/reasons/{reason['id']}", 200, json={"name": "Power outage"})
    ev = call("POST", "/api/v1/downtime", 201, json={"machine_id": m["id"], "started_at": f"{DAY}T06:00:00Z",
                                                     "planned": False})
    call("GET", "/api/v1/downtime", 200, params={"needs_reason": True})
    call("GET", f"/api/v1/downtime/{ev['id']}", 200)
    call("PATCH", f"/api/v1/downtime/{ev['id']}", 200, json={"ended_at": f"{DAY}T06:30:00Z"})
    call("POST", f"/api/v1/downtime/{ev['id']}/reason", 200, json={"reason_id": jam})

    # counter anomalies (the poller records them; test_anomalies_api decides real ones)
    call("GET", f"/api/v1/machines/{m['id']}/anomalies", 200, params={"status": "pending"})
    for decision in ("accept", "discard"):
        call("POST", f"/api/v1/machines/{m['id']}/anomalies/{uuid.uuid4()}/{decision}", 404)

    # KPIs
    call("GET", "/api/v1/kpis/oee", 200, params={"scope": "site", "id": s["id"], "date": DAY})
    call("GET", "/api/v1/kpis/oee", 422, params={"scope": "site", "id": s["id"]})

    # catalog
    for kind in ("machine-models", "materials"):
        e = call("POST", f"/api/v1/catalog/{kind}", 201, json={"category": "cnc", "manufacturer": uuid.uuid4().hex,
                                                               "name": "Model"})
        call("GET", f"/api/v1/catalog/{kind}", 200, params={"mine": True})
        call("GET", f"/api/v1/catalog/{kind}/{e['id']}", 200)
        call("PATCH", f"/api/v1/catalog/{kind}/{e['id']}", 200, json={"specs": {"axes": 5}})
        call("DELETE", f"/api/v1/catalog/{kind}/{e['id']}", 204)

    documented = {(m.upper(), p) for p, item in seen.spec["paths"].items() for m, op in item.items()
                  if set(op["tags"]) & TAGS}
    assert documented - seen.seen == set()


def _own_schema(tp: Any, mode: str) -> Any:
    """What the model itself says, with its parts inlined."""
    schema = TypeAdapter(tp).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    return inline(schema, schema.get("$defs", {}))


def _home(model: type) -> str:
    """The module that declares `model` (for `Page[SiteOut]`: where `Page` is declared)."""
    origin = getattr(model, "__pydantic_generic_metadata__", {}).get("origin")
    return (origin or model).__module__


def test_every_operation_documents_exactly_its_models(spec: SpecChecker) -> None:
    doc, components = spec.spec, spec.spec["components"]["schemas"]
    endpoints = all_endpoints()
    assert len(endpoints) == sum(len(item) for item in doc["paths"].values())
    for ep in endpoints:
        path = re.sub(r"{(\w+)(?::\w+)?}", r"{\1}", ep.path)
        op, where = doc["paths"][path][ep.method.lower()], f"{ep.method} {path}"
        for model in (ep.body, ep.form, ep.query, ep.response):  # declared once, in the core: never in a route module
            assert not isinstance(model, type) or _home(model).startswith("factoryos."), (where, model)
        standard = own_json(ep)  # a standard's JSON (SCIM), errors included, instead of JSON and problem+json
        if ep.body is None and ep.form is None:
            assert "requestBody" not in op, where
            assert ep.method not in ("POST", "PUT", "PATCH") or ep.operation_id in BODILESS, \
                f"{where} documents no request body: declare body= (or form=), or list it in BODILESS"
        else:  # JSON; a standard's JSON the handler reads itself (SCIM); an HTML form (a SAML provider's post)
            model = ep.body if ep.body is not None else ep.form
            media = ["application/json"] if ep.body is not None else \
                [standard, "application/json"] if standard else ["application/x-www-form-urlencoded"]
            assert list(op["requestBody"]["content"]) == media, where
            for body in op["requestBody"]["content"].values():
                assert inline(body["schema"], components) == _own_schema(model, "validation"), where
        errors = op["responses"]["default"]["content"]
        if standard is None:
            assert errors == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}, where
        else:
            assert list(errors) == [standard], where
            assert inline(errors[standard]["schema"], components) == _own_schema(OWN_JSON_ERRORS[standard],
                                                                                 "serialization"), where
        query = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        own = _own_schema(ep.query, "validation") if ep.query is not None else {"properties": {}}
        assert {name: inline(p["schema"], components) for name, p in query.items()} == own["properties"], where
        assert {name for name, p in query.items() if p["required"]} == set(own.get("required", [])), where
        answer = op["responses"][str(ep.status_code)]
        if ep.status_code == 204:
            assert "content" not in answer, where
        elif ep.response is None and ep.response_media_types and not path.startswith("/api/v1/reports/"):
            # A document for another program (SAML metadata, an HTML page): each type it answers in is
            # documented, with no JSON model.
            content = answer.get("content", {})
            assert set(ep.response_media_types) <= set(content) and content.get("application/json", {}) == {}, where
        elif ep.response is None:
            # Only reports answer without a model: files, or JSON that mirrors the file's sections.
            assert path.startswith("/api/v1/reports/") and answer["content"]["application/json"] == {}, where
        else:
            schema = answer["content"][standard or "application/json"]["schema"]
            assert inline(schema, components) == _own_schema(ep.response, "serialization"), where
            assert standard is None or "application/json" not in answer["content"], where


def test_the_saml_acs_form_is_documented(spec: SpecChecker) -> None:
    """An identity provider posts a form to the ACS, not JSON: its fields are in the document."""
    (path,) = [p for p in spec.spec["paths"] if p.startswith("/api/v1/auth/sso/saml/") and p.endswith("/acs")]
    content = spec.spec["paths"][path]["post"]["requestBody"]["content"]
    schema = inline(content["application/x-www-form-urlencoded"]["schema"], spec.spec["components"]["schemas"])
    assert set(schema["properties"]) == set(schema["required"]) == {"SAMLResponse", "RelayState"}


def test_the_scim_bodies_are_documented(spec: SpecChecker) -> None:
    """SCIM's routes read their bodies themselves and answer in SCIM's media type, errors included:
    each operation's body, answer and error are in the document, in that media type."""
    from factoryos.sso.scim_models import MEDIA_TYPE

    components = spec.spec["components"]["schemas"]
    ops = {(m.upper(), p): op for p, item in spec.spec["paths"].items() for m, op in item.items()
           if p.startswith("/scim/v2/")}
    assert len(ops) == 17  # discovery 5, Users 6, Groups 6
    for (method, path), op in ops.items():
        if method in ("POST", "PUT", "PATCH"):
            content = op["requestBody"]["content"]
            assert list(content) == [MEDIA_TYPE, "application/json"], (method, path)
            want = "PatchOp" if method == "PATCH" else "UserIn" if "/Users" in path else "GroupIn"
            assert content[MEDIA_TYPE]["schema"] == {"$ref": f"#/components/schemas/Scim{want}"}, (method, path)
        (status,) = [code for code in op["responses"] if code != "default"]
        assert ("content" in op["responses"][status]) == (status != "204"), (method, path)
        if status != "204":
            assert list(op["responses"][status]["content"]) == [MEDIA_TYPE], (method, path)
        assert op["responses"]["default"]["content"][MEDIA_TYPE]["schema"] == {
            "$ref": "#/components/schemas/ScimErrorBody"}, (method, path)
    patch_op = inline(components["ScimPatchOp"], components)
    assert patch_op["required"] == ["schemas", "Operations"] and patch_op["properties"]["Operations"]["minItems"] == 1
    users = inline(ops[("GET", "/scim/v2/Users")]["responses"]["200"]["content"][MEDIA_TYPE]["schema"], components)
    assert users["properties"]["Resources"]["items"] == inline(components["ScimUser"], components)


def test_the_client_returns_the_servers_own_models() -> None:
    """No hand copies: every model the client hands out is the class the routes declare. The only
    models of the client's own are what it keeps on the terminal (its profile), never an API shape."""
    import importlib
    import pkgutil

    import factoryos.client
    from factoryos.client import models, ops_models

    declared = {m for ep in all_endpoints() for m in (ep.body, ep.query, ep.response) if isinstance(m, type)}
    terminal_only = {"factoryos.client.profile.ClientProfile", "factoryos.client.profile.ServerTrust"}
    for info in pkgutil.walk_packages(factoryos.client.__path__, "factoryos.client."):
        module = importlib.import_module(info.name)
        for name in dir(module):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
                where = f"{obj.__module__}.{obj.__qualname__}"
                assert not obj.__module__.startswith("factoryos.client") or where in terminal_only, \
                    f"{info.name}.{name} is a copy"
    for name in ("Me", "Member", "MemberPage", "NewInvite", "InvitePage", "AuditPage", "SignIn", "TokenPair",
                 "Enrollment", "RecoveryCodes"):
        assert getattr(models, name) in declared, name
    for name in ("LicenseInfo", "BackupItem", "BackupList", "RestoreJob", "SystemConfig"):
        assert getattr(ops_models, name) in declared, name


def test_backup_patterns_in_the_contract_are_the_services() -> None:
    from factoryos.backup.catalog import NAME_PATTERN
    from factoryos.backup.create import LABEL_PATTERN
    from factoryos.system.models import BACKUP_LABEL_PATTERN, BACKUP_NAME_PATTERN

    assert (BACKUP_LABEL_PATTERN, BACKUP_NAME_PATTERN) == (LABEL_PATTERN, NAME_PATTERN)


def test_every_tag_is_walked(spec: SpecChecker) -> None:
    tags = {t for item in spec.spec["paths"].values() for op in item.values() for t in op["tags"]}
    assert tags == TAGS | OPS_TAGS | set(WALKED_ELSEWHERE)


def test_identity_operations_and_reports_routes_answer_as_documented(checked, live_server) -> None:
    api, seen = checked
    headers: dict[str, str] = {}

    def call(method: str, path: str, expect: int, *, who: dict[str, str] | None = None, **kw: Any) -> Any:
        r = api.request(method, path, headers=headers if who is None else who, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content and "json" in r.headers.get("content-type", "") else None

    # setup and auth
    email = new_email("owner")
    call("POST", "/api/v1/auth/register", 202, json={"email": email, "password": PASSWORD})
    account = call("POST", "/api/v1/auth/login", 200, who={}, json={"email": email, "password": PASSWORD})
    call("POST", "/api/v1/setup", 200, who=bearer(account["access_token"]), json={"display_name": "Olga Owner"})
    owner = session_of(call("POST", "/api/v1/setup/owner", 201, who=bearer(account["access_token"]),
                            json=owner_body()), email)
    headers.update(owner.headers)
    call("POST", "/api/v1/auth/login", 200, who={}, json={"email": email, "password": PASSWORD})
    call("POST", "/api/v1/auth/login", 401, who={}, json={"email": email, "password": "not the password"})
    call("GET", "/api/v1/auth/config", 200, who={}, params={"email": email})
    call("POST", "/api/v1/auth/refresh", 200, who={}, json={"refresh_token": owner.refresh_token})
    call("GET", "/api/v1/auth/me", 200)

    # invites and users
    invite = call("POST", "/api/v1/invites", 201, json={"role": "operator"})
    doomed = call("POST", "/api/v1/invites", 201, json={"role": "read_only"})
    call("GET", "/api/v1/invites", 200)
    call("DELETE", f"/api/v1/invites/{doomed['id']}", 204)
    staff_email = new_email("staff")
    staff = session_of(call("POST", "/api/v1/invites/accept", 201, who={}, json={
        "code": invite["code"], "email": staff_email, "password": PASSWORD, "display_name": "Sam Staff"}), staff_email)
    call("GET", "/api/v1/users", 200, params={"q": "staff"})
    call("GET", f"/api/v1/users/{staff.user_id}", 200)
    call("PATCH", f"/api/v1/users/{staff.user_id}/permissions", 200, json={"granted": ["reports.export"]})
    call("PUT", f"/api/v1/users/{staff.user_id}/sites", 200, json={"site_ids": None})
    call("PUT", f"/api/v1/users/{staff.user_id}/machines", 200, json={"machine_ids": None})
    call("PUT", f"/api/v1/users/{staff.user_id}/machines", 422, json={"machine_ids": [str(uuid.uuid4())]})
    enrollment = call("POST", "/api/v1/auth/mfa/enroll", 200, who=staff.headers)
    codes = call("POST", "/api/v1/auth/mfa/confirm", 200, who=staff.headers,
                 json={"code": pyotp.TOTP(enrollment["secret"]).now()})
    call("POST", "/api/v1/auth/mfa/disable", 204, who=staff.headers,
         json={"password": PASSWORD, "recovery_code": codes["recovery_codes"][0]})
    call("POST", "/api/v1/auth/logout", 204, who=staff.headers, json={})
    call("DELETE", f"/api/v1/users/{staff.user_id}", 204)
    call("GET", "/api/v1/audit", 200, params={"entity": "invite", "limit": 5})

    # connectivity, onboarding, jobs
    s = plant.site(api, owner)
    m = plant.machine(api, owner, s["id"])
    connection = {"protocol": "modbus", "enabled": False, "endpoint": {"host": "plc.local"},
                  "signals": {"good": {"address": 0}, "reject": {"address": 1}, "state": {"address": 2}}}
    call("PUT", f"/api/v1/machines/{m['id']}/connection", 200, json=connection)
    call("POST", f"/api/v1/machines/{m['id']}/connection/test", 200,  # refused at once: a failed test is a 200
         json={**connection, "endpoint": {"host": "127.0.0.1", "port": 9, "timeout": 1}})
    call("POST", f"/api/v1/machines/{m['id']}/connection/browse", 200,  # nothing listens: a 200 with ok false
         json={"endpoint": {"url": "opc.tcp://127.0.0.1:9", "timeout": 1}})
    call("GET", f"/api/v1/machines/{m['id']}/connection", 200)
    call("DELETE", f"/api/v1/machines/{m['id']}/connection", 204)
    call("GET", "/api/v1/onboarding", 200)
    call("PUT", "/api/v1/onboarding", 200, json={"current_step": "setup_roles"})
    call("POST", "/api/v1/onboarding/steps/setup_roles", 200, json={"status": "done"})
    call("GET", "/api/v1/jobs/import/limits", 200)
    csv = f"Job,Product,Qty,Due,Machine\nJ-{uuid.uuid4().hex[:6]},Bracket,100,{DAY},{m['code']}\n"
    call("POST", "/api/v1/jobs/import", 200, json={"file_name": "jobs.csv", "dry_run": False,
                                                  "content": base64.b64encode(csv.encode()).decode()})
    job = call("GET", "/api/v1/jobs", 200)["items"][0]
    call("GET", f"/api/v1/jobs/{job['id']}", 200)

    # reports (JSON; the files are documented as binary)
    plant.shift(api, owner, s["id"], "Early", "06:00", "14:00")
    for topic in ("production", "machines", "shifts", "operators", "rejections", "downtime"):
        call("GET", f"/api/v1/reports/{topic}", 200, params={"format": "json", "site_id": s["id"], "date": DAY})
    call("GET", "/api/v1/reports/machines", 200, params={"format": "pdf", "site_id": s["id"], "date": DAY})
    call("GET", "/api/v1/reports/machines", 422, params={"format": "json", "site_id": s["id"]})
    call("GET", "/api/v1/reports/orders", 200, params={"format": "json", "order_id": job["id"]})
    call("GET", "/api/v1/reports/orders", 404, params={"format": "json", "number": "MO-none"})
    plant.shift(api, owner, s["id"], "Rest", "14:00", "06:00")  # with Early, a shift always runs
    note = call("POST", "/api/v1/shift-handover/notes", 201, json={"site_id": s["id"], "body": "Press sticks"})
    running = {"shift_instance_id": note["shift_instance_id"]}
    call("GET", "/api/v1/shift-handover/notes", 200, params=running)
    call("POST", "/api/v1/shift-handover/signoffs", 409, json={**running, "password": PASSWORD})
    call("GET", "/api/v1/shift-handover/signoffs", 200, params=running)

    # system: health for anyone, the rest for an installation administrator
    call("GET", "/api/v1/system/health", 200, who={})
    call("GET", "/api/v1/system/config", 200)
    make_installation_admin(live_server.server.config.app.state.engine, email)
    call("GET", "/api/v1/system/license", 200)
    call("PUT", "/api/v1/system/license", 422, json={"key": "FOS1.not-a-license"})
    call("GET", "/api/v1/backup", 200)
    call("POST", "/api/v1/backup/create", 503, json={"label": "contract"})  # this server has no superuser URL
    call("POST", "/api/v1/backup/restore", 422, json={"name": "nothing", "confirm": "something"})
    call("GET", f"/api/v1/backup/restore/{uuid.uuid4()}", 404)

    documented = {(m.upper(), p) for p, item in seen.spec["paths"].items() for m, op in item.items()
                  if set(op["tags"]) & OPS_TAGS}
    assert documented - seen.seen == set()
