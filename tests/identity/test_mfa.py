"""TOTP enrollment with real pyotp codes, sign-in with a second factor, recovery codes."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pyotp
from sqlalchemy import text

from tests.accounts import login, new_company


def _enroll(http, owner) -> tuple[pyotp.TOTP, list[str]]:
    r = http.post("/api/v1/auth/mfa/enroll", headers=owner.headers)
    assert r.status_code == 200, r.text
    uri = urlparse(r.json()["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["issuer"] == ["FactoryOS"] and parse_qs(uri.query)["secret"] == [r.json()["secret"]]
    totp = pyotp.TOTP(r.json()["secret"])
    bad = http.post(
        "/api/v1/auth/mfa/confirm",
        json={"code": "000000" if totp.now() != "000000" else "111111"},
        headers=owner.headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (403, "invalid_totp")
    r = http.post("/api/v1/auth/mfa/confirm", json={"code": totp.now()}, headers=owner.headers)
    assert r.status_code == 200, r.text
    return totp, r.json()["recovery_codes"]


def _next_code(totp: pyotp.TOTP) -> str:
    # The confirm step used the current code; the next step's is accepted (clock drift) and unused.
    return totp.at(time.time() + totp.interval)


def test_login_needs_a_fresh_totp_code_once_enrolled(http, superuser_engine) -> None:
    owner = new_company(http)
    totp, _ = _enroll(http, owner)
    r = login(http, owner.email)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (401, "mfa_required", "totp_code")
    wrong = "123456" if totp.now() != "123456" else "654321"
    r = login(http, owner.email, totp_code=wrong)
    assert (r.status_code, r.json()["code"]) == (401, "invalid_totp")
    code = _next_code(totp)
    ok = login(http, owner.email, totp_code=code)
    assert ok.status_code == 200, ok.text
    assert ok.json()["account"]["mfa_enabled"] is True
    # The same code cannot be replayed.
    r = login(http, owner.email, totp_code=code)
    assert (r.status_code, r.json()["code"]) == (401, "invalid_totp")
    with superuser_engine.connect() as conn:
        after = conn.execute(
            text("select after from audit_log where tenant_id = :t and action = 'login' order by seq desc limit 1"),
            {"t": owner.tenant_id},
        ).scalar_one()
    assert after == {"method": "password+totp", "mfa": True}


def test_wrong_password_with_mfa_is_still_invalid_credentials(http) -> None:
    owner = new_company(http)
    totp, _ = _enroll(http, owner)
    r = login(http, owner.email, "wrong password!", totp_code=_next_code(totp))
    assert r.json()["code"] == "invalid_credentials"


def test_secret_and_recovery_codes_are_not_stored_in_clear(http, superuser_engine) -> None:
    owner = new_company(http)
    totp, codes = _enroll(http, owner)
    with superuser_engine.connect() as conn:
        row = conn.execute(
            text("select totp_secret, recovery_code_hashes, totp_enabled from users where id = :u"),
            {"u": owner.user_id},
        ).one()
    assert row.totp_enabled and totp.secret not in row.totp_secret
    assert len(row.recovery_code_hashes) == len(codes) == 10
    stored = " ".join(row.recovery_code_hashes)
    assert not any(c.replace("-", "") in stored or c in stored for c in codes)


def test_recovery_code_works_once(http) -> None:
    owner = new_company(http)
    _, codes = _enroll(http, owner)
    r = login(http, owner.email, recovery_code=codes[0].lower())
    assert r.status_code == 200, r.text
    r = login(http, owner.email, recovery_code=codes[0])
    assert (r.status_code, r.json()["code"]) == (401, "invalid_totp")
    assert login(http, owner.email, recovery_code=codes[1]).status_code == 200


def test_enroll_twice_and_disable(http) -> None:
    owner = new_company(http)
    totp, codes = _enroll(http, owner)
    r = http.post("/api/v1/auth/mfa/enroll", headers=owner.headers)
    assert (r.status_code, r.json()["code"]) == (409, "mfa_already_enabled")
    r = http.post(
        "/api/v1/auth/mfa/disable",
        json={"password": "wrong password!", "recovery_code": codes[2]},
        headers=owner.headers,
    )
    assert (r.status_code, r.json()["code"]) == (403, "invalid_credentials")
    r = http.post(
        "/api/v1/auth/mfa/disable", json={"password": owner.password, "recovery_code": codes[2]}, headers=owner.headers
    )
    assert r.status_code == 204, r.text
    assert login(http, owner.email).status_code == 200
    assert http.get("/api/v1/auth/me", headers=owner.headers).json()["account"]["mfa_enabled"] is False


def test_confirm_without_enroll_is_refused(http) -> None:
    owner = new_company(http)
    r = http.post("/api/v1/auth/mfa/confirm", json={"code": "123456"}, headers=owner.headers)
    assert (r.status_code, r.json()["code"]) == (409, "mfa_not_enrolling")
