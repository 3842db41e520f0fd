"""Abuse drill: a signed-in owner of company A attacks the API; company B must not leak.

Company B is seeded with recognisable markers in every name, note and reference (and
its ids and invite code are markers too); company A with plain data. Then, as A's owner:

  fuzz       schemathesis generates requests for every operation of /api/v1/openapi.json,
             valid and invalid (positive and negative modes), once with generated path
             ids, once with A's real ids and once with B's ids; every response is checked:
             no 5xx, no B marker in the body (a B id only counts when A did not send it),
             no 2xx on a path naming a B object
  foreign    A's create requests naming B's objects in the body: 4xx, nothing echoed
  intact     B's data, read back as B, is unchanged afterwards
  enumerate  registering B's owner's email answers exactly as a fresh email does, and B's
             owner keeps their password
  lockout    wrong passwords for one account until it locks: 429 with Retry-After,
             and then the right password is refused too
  elsewhere  (behind a trusted proxy) the locked-out owner still signs in from another address
  rewrite    (with the superuser) A's audit chain rewritten and every later hash recomputed:
             the hashes alone pass, the server's signed anchors must name the row
  limits     oversized bodies → 413 (declared and chunked), deeply nested JSON → 422
  traversal  `..` payloads in every file-name-like parameter and in raw paths: no 5xx,
             no file content, no unsafe download name

Run: python -m scripts.drills.abuse [--examples 25]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import requests

from scripts.drills.plant import PASSWORD, Member, Plant, join, new_company, seed_plant

TRAVERSALS = ["../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "....//....//etc/passwd",
              "/etc/passwd", "..\\..\\windows\\win.ini", "%2e%2e/%2e%2e/pyproject.toml", "report.pdf/../../x"]
FILE_CONTENT = re.compile(rb"root:x:0:0|\[build-system\]|\[extensions\]|BEGIN [A-Z ]*PRIVATE KEY")
FILE_LIKE = re.compile(r"file|name|path|template|format|download", re.I)
# 503s that are answers, not failures: a feature this server was deliberately started without.
DELIBERATE_503 = {"backups_unavailable"}


def _ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path} → {r.status_code}: {r.text[:300]}")
    return r.json() if r.content else {}


# -- seeding ------------------------------------------------------------------------------


@dataclass
class Company:
    owner: Member
    plant: Plant
    ids: dict[str, str] = field(default_factory=dict)  # path parameter name → one object's id
    markers: set[str] = field(default_factory=set)     # strings that must never reach the other company


def seed_company(client: httpx.Client, marker: str = "") -> Company:
    """A company with one of everything; with `marker`, every name and note carries it."""
    tag = f"{marker} " if marker else ""
    owner = new_company(client, f"{tag}Works {uuid.uuid4().hex[:4]}", display_name=f"{tag}Olga", city=f"{tag}Linz")
    plant = seed_plant(client, owner, machines=3, per_line=3, label=tag)
    h = owner.headers
    site, machine = plant.site_id, plant.machine_ids[0]
    _ok(client.post(f"/api/v1/sites/{site}/operators", json={"user_id": owner.user_id}, headers=h))
    operator = join(client, owner, "operator", display_name=f"{tag}Otto")
    _ok(client.post(f"/api/v1/sites/{site}/operators", json={"user_id": operator.user_id}, headers=h))
    area = _ok(client.post("/api/v1/areas", json={"site_id": site, "name": f"{tag}Hall",
                                                  "code": f"A-{uuid.uuid4().hex[:5]}"}, headers=h))
    entry = _ok(client.post("/api/v1/production/entry", headers=h, json={
        "machine_id": machine, "good_quantity": 1, "job_ref": f"{tag}JOB-1", "note": f"{tag}entry note"}))
    plan = _ok(client.post("/api/v1/production/plan", headers=h, json={
        "machine_id": machine, "shift_instance_id": entry["shift_instance_id"], "target_quantity": 100,
        "job_ref": f"{tag}JOB-1", "product_ref": f"{tag}Widget"}))
    reason = _ok(client.post("/api/v1/downtime/reasons", headers=h, json={
        "name": f"{tag}Scrap", "loss_bucket": "quality", "planned": False}))
    now = datetime.now(UTC)
    downtime = _ok(client.post("/api/v1/downtime", headers=h, json={
        "machine_id": plant.machine_ids[1], "started_at": (now - timedelta(minutes=30)).isoformat(),
        "ended_at": (now - timedelta(minutes=20)).isoformat(), "planned": False, "note": f"{tag}jam"}))
    rejection = _ok(client.post("/api/v1/rejections", headers=h, json={
        "machine_id": machine, "quantity": 1, "reason_id": reason["id"], "note": f"{tag}burr"}))
    invite = _ok(client.post("/api/v1/invites", json={"role": "supervisor"}, headers=h))
    ids = {"site_id": site, "machine_id": machine, "line_id": plant.line_ids[0], "shift_id": plant.shift_id,
           "area_id": area["id"], "entry_id": entry["id"], "plan_id": plan["id"], "reason_id": reason["id"],
           "event_id": downtime["id"], "rejection_id": rejection["id"], "invite_id": invite["id"],
           "user_id": operator.user_id}
    company = Company(owner, plant, ids)
    if marker:
        company.markers = {marker, owner.email, operator.email, invite["code"], owner.tenant_id,
                           *ids.values(), *plant.machine_ids, *plant.line_ids}
    return company


# -- findings -----------------------------------------------------------------------------


@dataclass
class Findings:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    deliberate_503: Counter[str] = field(default_factory=Counter)
    leaks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # drill expectations not met (lockout, limits, …)
    # Answers that break the OpenAPI document (body schema, content type), one line per operation and check.
    nonconforming: dict[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.server_errors or self.leaks or self.problems)

    def note(self, what: str, status: int, body: bytes, sent: str, victim: Company) -> None:
        self.requests += 1
        self.statuses[status] += 1
        if status == 503 and (code := _problem_code(body)) in DELIBERATE_503:
            self.deliberate_503[code] += 1
        elif status >= 500:
            self.server_errors.append(f"{what} → {status}: {body[:300].decode(errors='replace')}")
        text = body.decode(errors="replace")
        for marker in victim.markers:
            if marker in text and marker not in sent:
                self.leaks.append(f"{what} → {status} contains B's {marker!r}: {text[:300]}")
                break

    def summary(self) -> str:
        return (f"{self.requests} requests (status {dict(sorted(self.statuses.items()))}): "
                f"{len(self.server_errors)} 5xx (besides deliberate {dict(self.deliberate_503)}), "
                f"{len(self.leaks)} leaks, {len(self.problems)} problems, "
                f"{len(self.nonconforming)} answers off the OpenAPI document")


def _problem_code(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("code") if isinstance(data, dict) else None


# -- fuzzing ------------------------------------------------------------------------------


def fuzz(base_url: str, attacker: Company, victim: Company, findings: Findings, *, examples: int = 25,
         log=print) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import content_type_conformance
    from schemathesis.core.result import Ok
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    session = requests.Session()
    auth = dict(attacker.owner.headers)
    _relogin(base_url, attacker, auth)  # a session of its own: a generated logout must not end the caller's
    unauthorized: Counter[bytes] = Counter()
    victim_paths = set(victim.ids.values())
    conf = settings(max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    conformance = [response_schema_conformance, content_type_conformance]
    for operation in operations:
        params = [p.name for p in operation.path_parameters]
        passes: list[tuple[str, dict[str, str] | None]] = [("generated", None)]
        if params and all(p in attacker.ids for p in params):
            passes.append(("A's ids", {p: attacker.ids[p] for p in params}))
            passes.append(("B's ids", {p: victim.ids[p] for p in params}))
        for label, path_values in passes:
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                try:
                    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_values)
                except Exception as exc:  # an operation schemathesis cannot generate for: say so, go on
                    log(f"  skip {operation.label} ({mode.value}): {type(exc).__name__}")
                    continue

                @conf
                @given(case=strategy)
                def probe(case: Any) -> None:
                    headers = {**(case.headers or {}), **auth}
                    try:
                        r = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
                    except requests.RequestException as exc:
                        findings.server_errors.append(f"{case.method} {case.formatted_path}: {type(exc).__name__}")
                        return
                    sent = f"{r.request.url} {r.request.body!r}"
                    what = f"{case.method} {r.request.path_url} [{label}, {mode.value}]"
                    findings.note(what, r.status_code, r.content, sent, victim)
                    try:
                        # SCIM answers application/scim+json as RFC 7644 says (its conformance test is
                        # tests/sso/test_scim_conformance.py); 5xx and leaks are still judged below.
                        if not operation.path.startswith("/scim/"):
                            case.validate_response(r, checks=conformance)
                    except AssertionError as exc:  # schemathesis' failure (group) carries what broke
                        key = f"{case.method} {operation.path} {r.status_code}"
                        findings.nonconforming.setdefault(key, str(exc).strip().splitlines()[0][:200])
                    if 200 <= r.status_code < 300 and any(v in r.request.path_url for v in victim_paths):
                        findings.leaks.append(f"{what} → {r.status_code}: acted on B's object")
                    if r.status_code == 401:
                        unauthorized[r.content[:120]] += 1
                        if b"session" in r.content:
                            _relogin(base_url, attacker, auth)

                try:
                    probe()
                except Unsatisfiable:  # nothing to negate (no parameters): the positive pass covered it
                    pass
                except Exception as exc:  # generation trouble is the tool's, not the API's
                    log(f"  {operation.label} ({label}, {mode.value}): generation stopped: {type(exc).__name__}")
    session.close()
    # A generated `logout {"everywhere": true}` ends every session of the attacker: sign in afresh.
    _relogin(base_url, attacker, auth)
    attacker.owner = dataclasses.replace(attacker.owner, access_token=auth["Authorization"].removeprefix("Bearer "))
    for body, n in unauthorized.most_common(3):  # mostly negative cases that drop Authorization on purpose
        log(f"  401 ×{n}: {body[:90]!r}")


def _relogin(base_url: str, who: Company, auth: dict[str, str]) -> None:
    """A generated request may sign the attacker out (logout, MFA): sign in again and go on."""
    # From an address of its own (where a proxy is trusted): the fuzz's failed sign-ins may have
    # locked the attacker's address, which is the throttle working, not a reason to stop the drill.
    r = httpx.post(f"{base_url}/api/v1/auth/login", json={"email": who.owner.email, "password": PASSWORD,
                                                            "company_id": who.owner.tenant_id},
                   headers={"X-Forwarded-For": "192.0.2.10"})
    if r.status_code != 200:
        raise RuntimeError(f"the attacker cannot sign in again: {r.status_code} {r.text[:200]}")
    auth["Authorization"] = f"Bearer {r.json()['access_token']}"


# -- targeted checks ----------------------------------------------------------------------


def foreign_references(client: httpx.Client, attacker: Company, victim: Company, findings: Findings) -> None:
    """A's creates that name B's objects must be refused without echoing B's data."""
    b, h = victim.ids, attacker.owner.headers
    a_site, a_machine = attacker.plant.site_id, attacker.plant.machine_ids[0]
    now = datetime.now(UTC)
    attempts = [
        ("POST", "/api/v1/production/entry", {"machine_id": b["machine_id"], "good_quantity": 1}),
        ("POST", "/api/v1/production/plan", {"machine_id": b["machine_id"], "target_quantity": 1}),
        ("POST", "/api/v1/downtime", {"machine_id": b["machine_id"], "planned": False,
                                      "started_at": (now - timedelta(hours=3)).isoformat()}),
        ("POST", "/api/v1/rejections", {"machine_id": a_machine, "quantity": 1, "reason_id": b["reason_id"]}),
        ("POST", "/api/v1/rejections", {"machine_id": b["machine_id"], "quantity": 1,
                                        "reason_id": attacker.ids["reason_id"]}),
        ("POST", "/api/v1/lines", {"site_id": b["site_id"], "name": "x", "code": "X-1"}),
        ("POST", "/api/v1/machines", {"site_id": b["site_id"], "name": "x", "code": "X-1",
                                      "ideal_cycle_seconds": 1}),
        ("POST", "/api/v1/machines", {"site_id": a_site, "line_id": b["line_id"], "name": "x", "code": "X-2",
                                      "ideal_cycle_seconds": 1}),
        ("POST", "/api/v1/areas", {"site_id": b["site_id"], "name": "x", "code": "X-1"}),
        ("POST", "/api/v1/shifts", {"site_id": b["site_id"], "name": "x", "start": "06:00", "end": "14:00"}),
        ("POST", f"/api/v1/sites/{a_site}/operators", {"user_id": victim.owner.user_id}),
        ("POST", "/api/v1/downtime/reasons", {"parent_id": b["reason_id"], "name": "x"}),
        ("POST", f"/api/v1/downtime/{attacker.ids['event_id']}/reason", {"reason_id": b["reason_id"]}),
        ("PATCH", f"/api/v1/production/plan/{attacker.ids['plan_id']}", {"operator_ids": [victim.owner.user_id]}),
        ("POST", "/api/v1/production/entry", {"machine_id": a_machine, "good_quantity": 1,
                                              "operator_id": victim.owner.user_id}),
        ("POST", "/api/v1/production/entry", {"machine_id": a_machine, "good_quantity": 1,
                                              "shift_id": b["shift_id"], "shift_date": now.date().isoformat()}),
    ]
    for method, path, body in attempts:
        r = client.request(method, path, json=body, headers=h)
        what = f"{method} {path} naming B's objects"
        findings.note(what, r.status_code, r.content, json.dumps(body) + path, victim)
        if r.status_code == 401:
            findings.problems.append(f"{what}: the attacker was not signed in, nothing was tested")
        elif r.status_code < 400:
            findings.leaks.append(f"{what} → {r.status_code}: accepted {r.text[:200]}")


def snapshot(client: httpx.Client, who: Company) -> dict[str, Any]:
    """What B can read of its own data (to compare before and after the attack)."""
    h, out = who.owner.headers, {}
    for path in ("/api/v1/sites", "/api/v1/areas", "/api/v1/lines", "/api/v1/machines", "/api/v1/shifts",
                 "/api/v1/production/entry", "/api/v1/production/plan", "/api/v1/downtime", "/api/v1/rejections",
                 "/api/v1/downtime/reasons", "/api/v1/invites", "/api/v1/users",
                 f"/api/v1/sites/{who.plant.site_id}/operators"):
        r = client.get(path, headers=h, params={"limit": 200} if path != "/api/v1/invites" else None)
        out[path] = r.json() if r.status_code == 200 else r.status_code
    return out


def enumerate_accounts(client: httpx.Client, victim_email: str, password: str, findings: Findings) -> None:
    """Registration must not tell a taken email from a fresh one, nor touch the existing account."""
    attempt = "Attacker chose this 9 word passphrase"
    answers = []
    for email in (victim_email, f"fresh-{uuid.uuid4().hex[:10]}@example.com"):
        r = client.post("/api/v1/auth/register", json={"email": email, "password": attempt})
        answers.append((r.status_code, r.content))
        findings.requests += 1
        findings.statuses[r.status_code] += 1
    if answers[0] != answers[1]:
        findings.leaks.append(f"enumerate: a taken email answers {answers[0]!r}, a fresh one {answers[1]!r}")
    r = client.post("/api/v1/auth/login", json={"email": victim_email, "password": attempt})
    findings.requests += 1
    findings.statuses[r.status_code] += 1
    if r.status_code == 200:
        findings.leaks.append("enumerate: registering a taken email set the attacker's password on it")


def lockout(client: httpx.Client, victim_email: str, password: str, findings: Findings, threshold: int = 5) -> None:
    """Guess passwords until the account locks; then even the right one must be refused."""
    statuses = []
    for i in range(threshold + 2):
        r = client.post("/api/v1/auth/login", json={"email": victim_email, "password": f"guess-{i}-wrong-pw"})
        statuses.append(r.status_code)
        findings.requests += 1
        findings.statuses[r.status_code] += 1
    r = client.post("/api/v1/auth/login", json={"email": victim_email, "password": password})
    findings.requests += 1
    findings.statuses[r.status_code] += 1
    if 429 not in statuses:
        findings.problems.append(f"lockout: {threshold + 2} wrong passwords never locked: {statuses}")
    elif statuses.index(429) > threshold:
        findings.problems.append(f"lockout: locked only after {statuses.index(429) + 1} guesses: {statuses}")
    if r.status_code != 429 or not r.headers.get("retry-after", "").isdigit():
        findings.problems.append(f"lockout: the right password during lockout → {r.status_code}, "
                                 f"Retry-After {r.headers.get('retry-after')!r}")


def lockout_elsewhere(client: httpx.Client, victim_email: str, password: str, findings: Findings) -> None:
    """After `lockout` from the attacker's address, the owner at their own desk is not locked out."""
    r = client.post("/api/v1/auth/login", json={"email": victim_email, "password": password},
                    headers={"X-Forwarded-For": "192.0.2.44"})
    findings.requests += 1
    findings.statuses[r.status_code] += 1
    if r.status_code != 200:
        findings.problems.append(f"elsewhere: the owner at another address was refused too → {r.status_code}")


def audit_rewrite(superuser_url: str, tenant_id: str, anchors_file, findings: Findings) -> str:
    """Rewrite row 2 of the company's chain as a superuser would, recompute every later hash and
    the head; the chain check must be fooled and the anchors must not. Returns what verify said."""
    from sqlalchemy import create_engine, pool, text

    from factoryos.audit.anchors import AnchorLog
    from factoryos.audit.chain import row_hash
    from factoryos.audit.verify import verify_anchors, verify_chain

    engine = create_engine(superuser_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("set local session_replication_role = replica"))
            rows = [dict(r) for r in conn.execute(text("select * from audit_log where tenant_id = :t order by seq"),
                                                  {"t": tenant_id}).mappings()]
            prev = rows[0]["row_hash"]
            for row in rows[1:]:
                if row["seq"] == 2:
                    row["after"] = {**(row["after"] or {}), "rewritten": True}
                row["prev_hash"], row["row_hash"] = prev, None
                row["row_hash"] = row_hash(row)
                conn.execute(text("update audit_log set after = cast(:a as jsonb), prev_hash = :p, row_hash = :h "
                                  "where tenant_id = :t and seq = :s"),
                             {"a": json.dumps(row["after"]), "p": row["prev_hash"], "h": row["row_hash"],
                              "t": tenant_id, "s": row["seq"]})
                prev = row["row_hash"]
            conn.execute(text("update audit_chain_heads set row_hash = :h where tenant_id = :t"),
                         {"h": prev, "t": tenant_id})
        with engine.connect() as conn:
            chain = verify_chain(conn, uuid.UUID(tenant_id))
            public, anchors = AnchorLog(anchors_file).read()
            report = verify_anchors(conn, uuid.UUID(tenant_id), anchors, public, chain.rows) if public else None
    finally:
        engine.dispose()
    if not chain.ok:
        findings.problems.append(f"rewrite: the recomputed chain was not even consistent: {chain.reason}")
    if report is None or report.ok:
        findings.problems.append(f"rewrite: {len(rows)} rows rewritten from seq 2 and the signed anchors did not see it")
        return "not detected"
    return f"row seq {report.broken_seq}: {report.reason}"


def body_limits(client: httpx.Client, attacker: Company, victim: Company, findings: Findings,
                max_bytes: int = 1_048_576) -> None:
    h = {**attacker.owner.headers, "content-type": "application/json"}
    big = b'{"note": "' + b"x" * (max_bytes + 10) + b'"}'

    def chunks() -> Iterable[bytes]:
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    deep_list = b"[" * 50_000 + b"]" * 50_000
    deep_object = b'{"a":' * 5_000 + b"1" + b"}" * 5_000
    for path in ("/api/v1/production/entry", "/api/v1/auth/login", "/api/v1/sites"):
        for label, content, expected, code in [("oversized", big, 413, None), ("oversized chunked", chunks(), 413, None),
                                               ("deep list", deep_list, 422, "json_too_deep"),
                                               ("deep object", deep_object, 422, "json_too_deep")]:
            r = client.post(path, content=content, headers=h)
            findings.note(f"POST {path} {label}", r.status_code, r.content, "", victim)
            got_code = r.json().get("code") if r.headers.get("content-type", "").endswith("json") else None
            if r.status_code != expected or (code and got_code != code):
                findings.problems.append(f"POST {path} {label}: expected {expected} {code or ''}, got "
                                         f"{r.status_code} {got_code}")


def traversal(client: httpx.Client, attacker: Company, spec: dict[str, Any], findings: Findings,
              victim: Company) -> list[str]:
    """`..` payloads in every file-name-like parameter of the spec, and in raw paths."""
    h, tried = attacker.owner.headers, []
    targets: list[tuple[str, str, str, str]] = []  # method, path template, where, name
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            for p in op.get("parameters", []):
                schema = p.get("schema", {})
                if FILE_LIKE.search(p["name"]) and schema.get("type", "string") == "string" \
                        and schema.get("format") != "uuid" and "enum" not in schema:
                    targets.append((method.upper(), path, p["in"], p["name"]))
    for method, path, where, name in targets:
        for payload in TRAVERSALS:
            url = path
            for m in re.finditer(r"\{([^}:]+)(:[^}]*)?\}", path):
                value = payload if m.group(1) == name else attacker.ids.get(m.group(1), str(uuid.uuid4()))
                url = url.replace(m.group(0), value)
            params = {name: payload} if where == "query" else None
            r = client.request(method, url, params=params, headers=h)
            tried.append(f"{method} {url} {params or ''}")
            _check_file(r, f"{method} {url} {name}={payload}", findings, victim)
    # Download names built from text a user chose (a shift's name goes into shift reports).
    renamed = client.patch(f"/api/v1/shifts/{attacker.plant.shift_id}", json={"name": "../../../etc/passwd"},
                           headers=h)
    findings.note("PATCH shift name to a path", renamed.status_code, renamed.content, "", victim)
    today = datetime.now(UTC).date().isoformat()
    for fmt in ("pdf", "xlsx", "json"):
        r = client.get("/api/v1/reports/shifts", headers=h,
                       params={"site_id": attacker.plant.site_id, "date": today, "format": fmt})
        tried.append(f"GET /api/v1/reports/shifts ({fmt}) of a shift named ../../../etc/passwd")
        _check_file(r, f"GET shift report ({fmt}) of a shift named like a path", findings, victim)
    for raw in ("/api/v1/%2e%2e/%2e%2e/etc/passwd", "/api/v1/reports/..%2f..%2f..%2fetc%2fpasswd",
                "/api/v1/docs/..%2f..%2fpyproject.toml", "/api/v1/openapi.json/..%2f..%2f..%2fetc%2fpasswd",
                "/..%2f..%2f..%2fetc%2fpasswd", "/api/v1/reports/%2e%2e%5c%2e%2e%5cwin.ini"):
        r = client.get(raw, headers=h)
        tried.append(f"GET {raw}")
        _check_file(r, f"GET {raw}", findings, victim)
    return tried


def _check_file(r: httpx.Response, what: str, findings: Findings, victim: Company) -> None:
    findings.note(what, r.status_code, r.content, what, victim)
    if r.status_code == 401:
        findings.problems.append(f"{what}: the attacker was not signed in, nothing was tested")
    if FILE_CONTENT.search(r.content):
        findings.leaks.append(f"{what} → {r.status_code} served a file from disk")
    disposition = r.headers.get("content-disposition", "")
    if ".." in disposition or "/" in disposition.split("filename", 1)[-1]:
        findings.leaks.append(f"{what} → unsafe download name {disposition!r}")


# -- the whole drill ----------------------------------------------------------------------


def run_drill(base_url: str, *, examples: int = 25, log=print, behind_proxy: bool = False,
              superuser_url: str | None = None, anchors_file=None) -> Findings:
    """`behind_proxy`: the server trusts this client's X-Forwarded-For (as behind nginx);
    `superuser_url` and the server's `anchors_file`: also try rewriting the audit chain."""
    findings = Findings()
    marker = f"LEAKMARK{uuid.uuid4().hex[:8].upper()}"
    with httpx.Client(base_url=base_url, timeout=60) as client:
        attacker = seed_company(client)
        victim = seed_company(client, marker)
        before = snapshot(client, victim)
        spec = client.get("/api/v1/openapi.json").json()
        started = time.perf_counter()
        fuzz(base_url, attacker, victim, findings, examples=examples, log=log)
        log(f"fuzz: {findings.summary()} in {time.perf_counter() - started:.0f} s")
        foreign_references(client, attacker, victim, findings)
        tried = traversal(client, attacker, spec, findings, victim)
        log(f"traversal: {len(tried)} attempts")
        body_limits(client, attacker, victim, findings)
        enumerate_accounts(client, victim.owner.email, PASSWORD, findings)
        lockout(client, victim.owner.email, PASSWORD, findings)
        if behind_proxy:
            lockout_elsewhere(client, victim.owner.email, PASSWORD, findings)
        # B's owner is locked out now (from here); its token still reads.
        after = snapshot(client, victim)
        for path in before:
            if before[path] != after[path]:
                findings.leaks.append(f"B's data changed during the attack: {path}")
    if superuser_url and anchors_file is not None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _anchored(anchors_file, attacker.owner.tenant_id):
            time.sleep(0.5)  # the server signs the heads every second in this drill
        log(f"rewrite: {audit_rewrite(superuser_url, attacker.owner.tenant_id, anchors_file, findings)}")
    return findings


def _anchored(anchors_file, tenant_id: str) -> bool:
    from factoryos.audit.anchors import AnchorLog

    try:
        return any(a.tenant_id == tenant_id and a.seq >= 2 for a in AnchorLog(anchors_file).read()[1])
    except Exception:  # noqa: BLE001 - half-written while the server appends: try again
        return False


def main() -> None:
    from factoryos.audit.anchors import ANCHOR_FILE
    from scripts.drills.stack import ServerProcess, embedded_database, scratch_dir, superuser_url

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=25, help="generated cases per operation, pass and mode")
    args = parser.parse_args()
    with scratch_dir("factoryos-abuse-") as data, embedded_database(data) as urls:
        # Behind a trusted proxy (as in the install, nginx) and with its superuser connection, so the
        # server signs the audit chain heads (every second here) that the rewrite case checks.
        env = {"FACTORYOS_TRUSTED_PROXIES": '["127.0.0.1"]', "FACTORYOS_ADMIN_DATABASE_URL": urls.admin or "",
               "FACTORYOS_AUDIT_ANCHOR_SECONDS": "1"}
        with ServerProcess(urls.app, data, env=env) as server:
            started = time.perf_counter()
            findings = run_drill(server.url, examples=args.examples, behind_proxy=True,
                                 superuser_url=superuser_url(urls), anchors_file=data / "server" / ANCHOR_FILE)
            print(f"\n{findings.summary()} in {time.perf_counter() - started:.0f} s")
            for kind, items in (("5xx", findings.server_errors), ("leak", findings.leaks),
                                ("problem", findings.problems)):
                for item in items[:20]:
                    print(f"  {kind}: {item}")
            if "Traceback" in server.log_tail(400):
                print("server log has tracebacks:\n" + server.log_tail(60))
    raise SystemExit(0 if findings.clean else 1)


if __name__ == "__main__":
    main()
