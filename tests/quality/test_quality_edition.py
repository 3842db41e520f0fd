"""Quality is an Advanced-edition module: every quality, inspection, NC, CAPA and quality-report route says
so, a server licensed for Core answers them 403 `license_feature` naming the edition needed, and the
evaluation (no license in force, as in the demo) answers them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from factoryos.licensing import Edition, License, Limits
from factoryos.licensing.active import LicenseState
from server.app import all_endpoints
from tests.production.plant import problem

PREFIXES = ("/api/v1/quality/", "/api/v1/inspections", "/api/v1/nonconformances", "/api/v1/capas",
            "/api/v1/reports/quality")


def test_every_quality_route_is_an_advanced_module() -> None:
    routes = [e for e in all_endpoints() if e.path.startswith(PREFIXES)]
    assert len(routes) >= 20
    assert {e.module for e in routes} == {("Quality", Edition.ADVANCED)}, [
        (e.method, e.path) for e in routes if e.module != ("Quality", Edition.ADVANCED)]


def _licensed(edition: Edition) -> LicenseState:
    now = dt.datetime.now(dt.UTC)
    return LicenseState(Path("license.lic"), License(
        license_id="L-EDITION", customer="Acme Metal", edition=edition, limits=Limits(machines=50, users=50, sites=5),
        issued_at=now - dt.timedelta(days=1), expires_at=now + dt.timedelta(days=30)))


def test_a_core_license_refuses_quality_naming_the_edition_and_the_evaluation_has_it(live_server, api,
                                                                                     owner) -> None:
    app = live_server.server.config.app
    kept = app.state.license
    routes = ("/api/v1/quality/plans", "/api/v1/inspections", "/api/v1/nonconformances", "/api/v1/capas")
    try:
        app.state.license = _licensed(Edition.CORE)
        for path in routes:
            body = problem(api.get(path, headers=owner.headers), 403, "license_feature")
            assert (body["edition_needed"], body["feature"]) == ("advanced", "Quality"), body
            assert "needs the Advanced edition" in body["detail"] and "licensed for Core" in body["detail"]
        problem(api.post("/api/v1/nonconformances", json={}, headers=owner.headers), 403, "license_feature")
        app.state.license = _licensed(Edition.ADVANCED)
        assert all(api.get(path, headers=owner.headers).status_code == 200 for path in routes)
    finally:
        app.state.license = kept
    assert kept.in_force() is None  # the tests' server runs on the evaluation allowance
    assert all(api.get(path, headers=owner.headers).status_code == 200 for path in routes)
