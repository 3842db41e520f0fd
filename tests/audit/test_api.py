"""GET /api/v1/audit over HTTP: scoped per company, filtered, paginated, itself audited."""

from __future__ import annotations

import httpx

from tests.accounts import Session, invite, join, login, new_company


def _audit(http: httpx.Client, who: Session, **params) -> httpx.Response:
    return http.get("/api/v1/audit", params=params, headers=who.headers)


def test_owner_reads_own_trail_newest_first_and_the_read_is_recorded(http: httpx.Client) -> None:
    owner = new_company(http)
    first = _audit(http, owner).json()["items"]
    actions = [row["action"] for row in first]
    assert "create" in actions  # company and membership creation at owner setup
    seqs = [row["seq"] for row in first]
    assert seqs == sorted(seqs, reverse=True)
    again = _audit(http, owner).json()["items"]
    newest = again[0]
    assert newest["action"] == "view" and newest["entity_type"] == "audit_log"
    assert newest["actor_id"] == owner.user_id
    assert newest["seq"] > first[0]["seq"]


def test_filters_and_cursor_pagination_are_stable(http: httpx.Client) -> None:
    owner = new_company(http)
    for _ in range(5):
        invite(http, owner, "operator")
    page1 = _audit(http, owner, action="create", entity="invite", limit=2).json()
    page2 = _audit(http, owner, action="create", entity="invite", limit=2, cursor=page1["next_cursor"]).json()
    page3 = _audit(http, owner, action="create", entity="invite", limit=2, cursor=page2["next_cursor"]).json()
    seen = [r["seq"] for p in (page1, page2, page3) for r in p["items"]]
    assert len(seen) == 5 and len(set(seen)) == 5 and page3["next_cursor"] is None
    assert all(r["entity_type"] == "invite" and r["action"] == "create" for p in (page1, page2, page3) for r in p["items"])
    bad = _audit(http, owner, cursor="not-a-cursor")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


def test_companies_never_see_each_others_rows(http: httpx.Client) -> None:
    a, b = new_company(http), new_company(http)
    invite(http, a, "operator")
    rows_b = _audit(http, b, limit=500).json()["items"]
    assert rows_b and all(r["actor_id"] in (b.user_id, None) for r in rows_b)
    assert not any(r["entity_type"] == "invite" for r in rows_b)


def test_audit_view_needs_the_permission(http: httpx.Client) -> None:
    owner = new_company(http)
    operator = join(http, owner, "operator")
    r = _audit(http, operator)
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    assert http.get("/api/v1/audit").status_code == 401


def test_failed_login_is_recorded_without_the_password(http: httpx.Client) -> None:
    owner = new_company(http)
    assert login(http, owner.email, "wrong password!").status_code == 401
    rows = _audit(http, owner, action="login_failed").json()["items"]
    assert len(rows) == 1
    assert "wrong password!" not in str(rows[0])


def test_a_failing_request_leaves_no_audit_row(http: httpx.Client) -> None:
    owner = new_company(http)
    before = _audit(http, owner, limit=500).json()["items"]
    r = http.post("/api/v1/invites", json={"role": "emperor"}, headers=owner.headers)
    assert r.status_code == 422
    after = _audit(http, owner, limit=500).json()["items"]
    # Only the view rows of the two reads themselves were added.
    added = [row for row in after if row["seq"] > before[0]["seq"]]
    assert [row["action"] for row in added] == ["view"]
