"""OWASP baseline headers on every answer of the real server, the docs page under a strict CSP."""

from __future__ import annotations

import re

import httpx

_BASELINE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _csp(r: httpx.Response) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in
            (part.strip() for part in r.headers["content-security-policy"].split(";")) if d}


def test_api_answers_carry_the_baseline_and_are_not_cached(http: httpx.Client) -> None:
    for r in (http.get("/api/v1/system/health"), http.get("/api/v1/nowhere"),
              http.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})):
        for name, value in _BASELINE.items():
            assert r.headers[name] == value, (r.request.url, name)
        assert r.headers["cache-control"] == "no-store", r.request.url
        assert _csp(r)["frame-ancestors"] == "'none'"
        assert "strict-transport-security" not in r.headers  # plain HTTP: HSTS would be ignored or wrong


def test_docs_page_runs_no_inline_code_and_its_files_are_served(http: httpx.Client) -> None:
    page = http.get("/api/v1/docs")
    assert page.status_code == 200
    csp = _csp(page)
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert not re.search(r"<script>|<style>|\son\w+=", page.text)  # nothing inline the CSP would block
    for name, kind in (("docs.js", "text/javascript"), ("docs.css", "text/css")):
        asset = http.get(f"/api/v1/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert f'"{name}"' in page.text
    assert "fetch('openapi.json')" in http.get("/api/v1/docs.js").text


def test_hsts_under_tls(settings, db_urls) -> None:
    from server.app import create_app
    from tests.conftest import LiveServer, duty_claim, free_port

    tls_settings = settings.model_copy(update={"tls_cert": settings.data_dir / "unused.pem",
                                               "tls_key": settings.data_dir / "unused.key"})
    server = LiveServer(create_app(tls_settings, db_urls.app, duties=duty_claim(db_urls.app)), free_port()).start()
    try:
        r = httpx.get(server.url + "/api/v1/system/health")
    finally:
        server.stop()
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
