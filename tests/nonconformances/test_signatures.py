"""Electronic signatures (21 CFR Part 11) through the real API: closing an NC's disposition is signed.

The signer re-enters the password (and a TOTP code when enrolled); the signature keeps name, time,
meaning, reason and the SHA-256 of the record's canonical content; a change to the record afterwards
shows it as no longer valid; wrong credentials are refused and audited, and two in a row end the session.
"""

from __future__ import annotations

import hashlib
import json
import time
from decimal import Decimal

import pyotp
from sqlalchemy import text

from tests.accounts import login
from tests.nonconformances.support import NC, audit_rows, disposition, ok, open_nc, quality_plant, signature
from tests.production.plant import problem


def _expected_hash(nc: dict) -> str:
    """The canonical content recomputed here from what the API shows (keys sorted, no spaces, UTF-8)."""
    content = {"record": "nonconformance", "number": nc["number"], "machine_id": nc["machine_id"],
               "product_id": nc["product_id"], "order_id": nc["order_id"], "lot_id": nc["lot_id"],
               "quantity": format(Decimal(nc["quantity"]).normalize(), "f"), "description": nc["description"],
               "disposition": nc["disposition"], "disposition_note": nc["disposition_note"],
               "dispositioned_by": nc["dispositioned_by"]}
    text_ = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text_.encode()).hexdigest()


def test_a_signature_records_who_when_what_and_why_and_goes_into_the_audit_chain(http, superuser_engine) -> None:
    p = quality_plant(http)
    nc = open_nc(http, p.operator, p.machine["id"], description="Riss im Flansch — 3 Teile")
    disposition(http, p.supervisor, nc["id"], "scrap")
    before = time.time()
    closed = ok(http.post(f"{NC}/{nc['id']}/close", json={"signature": signature(p.manager, reason="Scrap OK")},
                          headers=p.manager.headers))
    assert closed["status"] == "closed" and closed["closed_by"] == p.manager.user_id
    [sig] = closed["signatures"]
    assert sig["valid"] is True and sig["meaning"] == "approved" and sig["reason"] == "Scrap OK"
    assert sig["signer_id"] == p.manager.user_id and sig["signer_email"] == p.manager.email
    assert sig["signer_name"] == "Sam Staff" and sig["method"] == "password"
    assert sig["signed_at"].endswith("+00:00") or sig["signed_at"].endswith("Z")  # time with its zone
    assert sig["content_hash"] == _expected_hash(closed)
    assert [e["kind"] for e in closed["history"]] == ["opened", "dispositioned", "closed"]
    [row] = audit_rows(superuser_engine, p.owner.tenant_id, "sign", "signature")
    assert row["entity_id"] == sig["id"] and str(row["actor_id"]) == p.manager.user_id
    assert row["after"]["content_hash"] == sig["content_hash"] and row["after"]["meaning"] == "approved"
    assert row["after"]["record_id"] == nc["id"] and row["ts"].timestamp() >= before - 1


def test_a_record_changed_after_signing_shows_its_signature_as_no_longer_valid(http, superuser_engine) -> None:
    p = quality_plant(http)
    nc = open_nc(http, p.operator, p.machine["id"], quantity="4.5")
    disposition(http, p.supervisor, nc["id"], "use_as_is")
    ok(http.post(f"{NC}/{nc['id']}/close", json={"signature": signature(p.manager)}, headers=p.manager.headers))
    assert ok(http.get(f"{NC}/{nc['id']}", headers=p.operator.headers))["signatures"][0]["valid"] is True
    # A closed NC is not edited through the API ...
    problem(http.patch(f"{NC}/{nc['id']}", json={"quantity": 5}, headers=p.owner.headers), 409,
            "nonconformance_closed")
    # ... so change it behind the application's back: the signature no longer matches.
    with superuser_engine.begin() as conn:
        conn.execute(text("update nonconformances set quantity = 40 where id = :i"), {"i": nc["id"]})
    after = ok(http.get(f"{NC}/{nc['id']}", headers=p.operator.headers))
    assert after["signatures"][0]["valid"] is False
    with superuser_engine.begin() as conn:
        conn.execute(text("update nonconformances set quantity = 4.5 where id = :i"), {"i": nc["id"]})
    assert ok(http.get(f"{NC}/{nc['id']}", headers=p.operator.headers))["signatures"][0]["valid"] is True


def test_a_wrong_password_is_refused_audited_and_signs_nothing(http, superuser_engine) -> None:
    p = quality_plant(http)
    nc = open_nc(http, p.operator, p.machine["id"])
    disposition(http, p.supervisor, nc["id"])
    r = http.post(f"{NC}/{nc['id']}/close", json={"signature": signature(p.manager, password="not my password")},
                  headers=p.manager.headers)
    body = problem(r, 403, "signature_invalid", "signature.password")
    assert body["session_ended"] is False
    [failed] = audit_rows(superuser_engine, p.owner.tenant_id, "signature_failed")
    assert (failed["entity_type"], failed["entity_id"], str(failed["actor_id"])) == ("nonconformance", nc["id"],
                                                                                     p.manager.user_id)
    assert failed["after"]["failures_in_a_row"] == 1 and "password" not in json.dumps(failed["after"]).replace(
        "signature.password", "")
    shown = ok(http.get(f"{NC}/{nc['id']}", headers=p.manager.headers))
    assert shown["status"] == "dispositioned" and shown["signatures"] == []
    assert audit_rows(superuser_engine, p.owner.tenant_id, "sign") == []
    # A good signature next resets the count: a later single failure does not end the session.
    ok(http.post(f"{NC}/{nc['id']}/close", json={"signature": signature(p.manager)}, headers=p.manager.headers))
    other = open_nc(http, p.operator, p.machine["id"])
    disposition(http, p.supervisor, other["id"])
    r = http.post(f"{NC}/{other['id']}/close", json={"signature": signature(p.manager, password="wrong again")},
                  headers=p.manager.headers)
    assert problem(r, 403, "signature_invalid")["session_ended"] is False
    assert http.get(NC, headers=p.manager.headers).status_code == 200


def test_two_failed_signing_attempts_in_a_row_end_the_session(http, superuser_engine) -> None:
    p = quality_plant(http)
    nc = open_nc(http, p.operator, p.machine["id"])
    disposition(http, p.supervisor, nc["id"])
    url = f"{NC}/{nc['id']}/close"
    first = http.post(url, json={"signature": signature(p.manager, password="guess 1")}, headers=p.manager.headers)
    assert problem(first, 403, "signature_invalid")["session_ended"] is False
    assert http.get(NC, headers=p.manager.headers).status_code == 200  # reading does not reset the count
    second = http.post(url, json={"signature": signature(p.manager, password="guess 2")}, headers=p.manager.headers)
    assert problem(second, 403, "signature_invalid")["session_ended"] is True
    problem(http.get(NC, headers=p.manager.headers), 401, "session_revoked")
    assert len(audit_rows(superuser_engine, p.owner.tenant_id, "signature_failed")) == 2
    [revoked] = audit_rows(superuser_engine, p.owner.tenant_id, "session_revoked", "session")
    assert revoked["after"] == {"reason": "signature_failures"} and str(revoked["actor_id"]) == p.manager.user_id
    # Signing in again works, and the NC is still waiting for its signature.
    again = ok(login(http, p.manager.email))
    headers = {"Authorization": f"Bearer {again['access_token']}"}
    assert ok(http.get(f"{NC}/{nc['id']}", headers=headers))["status"] == "dispositioned"


def test_an_enrolled_signer_also_gives_a_fresh_authenticator_code(http, superuser_engine) -> None:
    p = quality_plant(http)
    secret = ok(http.post("/api/v1/auth/mfa/enroll", headers=p.manager.headers))["secret"]
    totp = pyotp.TOTP(secret)
    ok(http.post("/api/v1/auth/mfa/confirm", json={"code": totp.at(time.time() - totp.interval)},
                 headers=p.manager.headers))
    nc = open_nc(http, p.operator, p.machine["id"])
    disposition(http, p.supervisor, nc["id"])
    url = f"{NC}/{nc['id']}/close"
    problem(http.post(url, json={"signature": signature(p.manager)}, headers=p.manager.headers), 422,
            "signature_totp_required", "signature.totp")
    wrong = "000000" if totp.now() != "000000" else "111111"
    r = http.post(url, json={"signature": signature(p.manager, totp=wrong)}, headers=p.manager.headers)
    problem(r, 403, "signature_invalid", "signature.totp")
    closed = ok(http.post(url, json={"signature": signature(p.manager, totp=totp.now())}, headers=p.manager.headers))
    assert closed["signatures"][0]["method"] == "password+totp" and closed["signatures"][0]["valid"] is True
