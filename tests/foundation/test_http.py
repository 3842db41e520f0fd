"""The real ASGI app over HTTP: health, problem+json, limits, OpenAPI."""

from __future__ import annotations

import httpx

from server.app import create_app
from tests.conftest import LiveServer, free_port


def test_health_is_ok_at_head(http: httpx.Client) -> None:
    r = http.get("/api/v1/system/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["migrations"]["current"] == body["migrations"]["head"]


def test_health_is_503_when_migrations_are_behind(settings, fresh_database) -> None:
    server = LiveServer(create_app(settings, fresh_database.app), free_port()).start()
    try:
        r = httpx.get(server.url + "/api/v1/system/health")
    finally:
        server.stop()
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "migrations_behind"
    assert body["database"]["ok"] is True
    assert body["migrations"] == {**body["migrations"], "ok": False, "current": None}
    assert "factoryos db upgrade" in body["migrations"]["detail"]


def test_health_is_503_when_the_database_is_unreachable(settings, tmp_path) -> None:
    url = f"postgresql+psycopg://factoryos_app@/factoryos?host={tmp_path}"
    server = LiveServer(create_app(settings, url, check_role=False), free_port()).start()
    try:
        r = httpx.get(server.url + "/api/v1/system/health")
    finally:
        server.stop()
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "database_unavailable" and r.headers["retry-after"]
    assert r.json()["database"]["ok"] is False


def test_unknown_route_is_problem_json_with_request_id(http: httpx.Client) -> None:
    r = http.get("/api/v1/does-not-exist", headers={"X-Request-ID": "trace-12345678"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "trace-12345678"
    assert r.json()["code"] == "route_not_found"
    assert r.json()["request_id"] == "trace-12345678"


def test_wrong_method_is_405_problem(http: httpx.Client) -> None:
    r = http.post("/api/v1/system/health")
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"


def test_oversized_body_is_413(http: httpx.Client, settings) -> None:
    r = http.post("/api/v1/system/health", content=b"x" * (settings.max_body_bytes + 1))
    assert r.status_code == 413
    assert r.json()["code"] == "body_too_large"


def test_openapi_is_3_1_and_docs_load_no_cdn(http: httpx.Client) -> None:
    # The document's validity (seconds of validator) is checked once, by
    # tests/production/test_openapi_contract.py::test_document_is_valid_openapi_and_the_docs_page_is_offline.
    spec = http.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/system/health" in spec["paths"]
    docs = http.get("/api/v1/docs")
    assert docs.status_code == 200
    script = http.get("/api/v1/docs.js").text  # loaded from this server (no inline code, no CDN)
    assert "openapi.json" in script
    for text_ in (docs.text, script):
        assert "http://" not in text_ and "https://" not in text_
