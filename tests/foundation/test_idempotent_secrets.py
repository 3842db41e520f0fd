"""An answer that shows a secret once (a webhook's signing secret, an invite's join code, an
authenticator enrolment) is never kept at rest by the Idempotency-Key machinery: the stored
replay holds only the fact that the request succeeded, and a repeat is a 409 that says what to
do, not a second copy of the secret. Answers without a secret replay as before."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from tests.accounts import new_company


def _stored(engine: Engine, tenant: str, key: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("select response::text from idempotency_keys where tenant_id = :t and key = :k"),
                                {"t": tenant, "k": key}).scalar_one())


def test_secrets_are_not_kept_for_replays(http: httpx.Client, superuser_engine: Engine) -> None:
    owner = new_company(http)
    cases = [
        ("/api/v1/webhooks", {"url": "https://mes.plant.example/hook", "events": ["order.status_changed"]}, "secret"),
        ("/api/v1/invites", {"role": "operator"}, "code"),
        ("/api/v1/auth/mfa/enroll", None, "secret"),
    ]
    for n, (url, body, field) in enumerate(cases):
        key = f"secret-replay-{n:04d}"
        headers = owner.headers | {"Idempotency-Key": key}
        first = http.post(url, json=body, headers=headers) if body is not None else http.post(url, headers=headers)
        assert first.status_code in (200, 201), first.text
        secret = first.json()[field]
        assert secret and secret not in _stored(superuser_engine, owner.tenant_id, key), url
        again = http.post(url, json=body, headers=headers) if body is not None else http.post(url, headers=headers)
        assert again.status_code == 409, again.text
        assert again.json()["code"] == "idempotent_secret_not_kept" and secret not in again.text


def test_answers_without_a_secret_still_replay(http: httpx.Client) -> None:
    owner = new_company(http)
    headers = owner.headers | {"Idempotency-Key": "plain-replay-0001"}
    first = http.post("/api/v1/sites", json={"code": "LNZ", "name": "Linz", "timezone": "Europe/Vienna"}, headers=headers)
    assert first.status_code == 201, first.text
    again = http.post("/api/v1/sites", json={"code": "LNZ", "name": "Linz", "timezone": "Europe/Vienna"}, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
