"""Company A's owner attacks the API: no 5xx, nothing of company B, limits and lockout hold."""

from __future__ import annotations

import pytest

from scripts.drills.abuse import (
    Company,
    Findings,
    body_limits,
    enumerate_accounts,
    foreign_references,
    fuzz,
    lockout,
    seed_company,
    snapshot,
    traversal,
)
from scripts.drills.plant import PASSWORD, join

pytestmark = pytest.mark.slow  # a drill: scripts/test.sh --all and CI run it


@pytest.fixture(scope="module")
def companies(live_server) -> tuple[Company, Company]:
    import httpx

    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        return seed_company(client), seed_company(client, "LEAKMARKTEST")


def _clean(findings: Findings) -> None:
    assert findings.server_errors == [], findings.server_errors[:5]
    assert findings.leaks == [], findings.leaks[:5]
    assert findings.problems == [], findings.problems
    assert findings.nonconforming == {}, list(findings.nonconforming.items())[:10]


def test_generated_requests_cause_no_5xx_and_leak_nothing(live_server, http, companies) -> None:
    attacker, victim = companies
    before = snapshot(http, victim)
    findings = Findings()

    fuzz(live_server.url, attacker, victim, findings, examples=4, log=lambda _: None)
    foreign_references(http, attacker, victim, findings)

    assert findings.requests > 1000
    _clean(findings)
    assert snapshot(http, victim) == before


def test_path_traversal_serves_no_file(http, companies) -> None:
    attacker, victim = companies
    findings = Findings()
    tried = traversal(http, attacker, http.get("/api/v1/openapi.json").json(), findings, victim)
    assert len(tried) >= 6
    _clean(findings)


def test_oversized_and_deep_bodies_are_rejected(http, companies) -> None:
    attacker, victim = companies
    findings = Findings()
    body_limits(http, attacker, victim, findings)
    assert findings.statuses[413] == 6 and findings.statuses[422] == 6
    _clean(findings)


def test_registration_tells_no_taken_email_and_keeps_the_account(http, companies) -> None:
    _, victim = companies
    findings = Findings()
    enumerate_accounts(http, victim.owner.email, PASSWORD, findings)
    _clean(findings)
    assert findings.statuses[202] == 2 and findings.statuses[401] == 1


def test_password_guessing_hits_the_lockout(http, companies) -> None:
    attacker, _ = companies
    target = join(http, attacker.owner, "operator", "Guess Target")
    findings = Findings()
    lockout(http, target.email, PASSWORD, findings)
    _clean(findings)
    assert findings.statuses[429] >= 2


def test_nul_characters_are_refused_with_422(http, companies) -> None:
    attacker, _ = companies
    h = attacker.owner.headers
    for r in (http.post("/api/v1/catalog/machine-models", json={"manufacturer": "Acme", "name": "Press\x00"}, headers=h),
              http.post("/api/v1/sites", json={"name": "Plant", "code": "S-NUL", "timezone": "UTC",
                                                "address": "Road\x001"}, headers=h),
              http.get("/api/v1/machines", params={"q": "\x00"}, headers=h)):
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "nul_character"
