"""Staff management: single permissions, live checks, owner immunity, self-protection, removal."""

from __future__ import annotations

from sqlalchemy import text

from tests.accounts import join, login, new_company


def _patch(http, by, user_id, **body):
    return http.patch(f"/api/v1/users/{user_id}/permissions", json=body, headers=by.headers)


def test_grant_and_revoke_apply_on_the_next_request(http) -> None:
    owner = new_company(http)
    sup = join(http, owner, "supervisor")
    r = http.get("/api/v1/invites", headers=sup.headers)
    assert (r.status_code, r.json()["code"], r.json()["permission"]) == (403, "permission_denied", "invites.send")
    r = _patch(http, owner, sup.user_id, granted=["invites.send"])
    assert r.status_code == 200 and "invites.send" in r.json()["permissions"]
    # Same access token as before: the grant is read live.
    assert http.get("/api/v1/invites", headers=sup.headers).status_code == 200
    assert _patch(http, owner, sup.user_id, granted=[]).status_code == 200
    assert http.get("/api/v1/invites", headers=sup.headers).status_code == 403


def test_denying_a_role_permission_takes_it_away(http) -> None:
    owner = new_company(http)
    manager = join(http, owner, "plant_manager")
    assert http.get("/api/v1/invites", headers=manager.headers).status_code == 200
    r = _patch(http, owner, manager.user_id, denied=["invites.send"])
    assert r.json()["denied"] == ["invites.send"] and "invites.send" not in r.json()["permissions"]
    assert http.get("/api/v1/invites", headers=manager.headers).status_code == 403
    me = http.get("/api/v1/auth/me", headers=manager.headers).json()
    assert "invites.send" not in me["permissions"] and me["denied"] == ["invites.send"]


def test_owner_cannot_be_modified_or_removed(http) -> None:
    owner = new_company(http)
    admin = join(http, owner, "admin")
    for r in (
        _patch(http, admin, owner.user_id, denied=["orders.view"]),
        http.delete(f"/api/v1/users/{owner.user_id}", headers=admin.headers),
        _patch(http, owner, owner.user_id, denied=["orders.view"]),
    ):
        assert (r.status_code, r.json()["code"]) == (403, "owner_immutable")


def test_nobody_removes_themselves(http) -> None:
    owner = new_company(http)
    admin = join(http, owner, "admin")
    r = http.delete(f"/api/v1/users/{admin.user_id}", headers=admin.headers)
    assert (r.status_code, r.json()["code"]) == (403, "cannot_remove_self")


def test_nobody_grants_themselves_permissions_manage(http) -> None:
    owner = new_company(http)
    admin = join(http, owner, "admin")
    r = _patch(http, admin, admin.user_id, granted=["permissions.manage"])
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (403, "self_grant_forbidden", "granted")
    # Granting it to someone else is a normal staff change.
    manager = join(http, owner, "plant_manager")
    assert _patch(http, admin, manager.user_id, granted=["permissions.manage"]).status_code == 200


def test_cannot_grant_what_you_do_not_hold(http) -> None:
    owner = new_company(http)
    manager = join(http, owner, "plant_manager")
    _patch(http, owner, manager.user_id, granted=["permissions.manage"])
    op = join(http, owner, "operator")
    r = _patch(http, manager, op.user_id, granted=["admin.system"])
    assert (r.status_code, r.json()["code"]) == (403, "grant_exceeds_own")


def test_role_does_not_change_through_the_permissions_endpoint(http) -> None:
    owner = new_company(http)
    op = join(http, owner, "operator")
    r = _patch(http, owner, op.user_id, role="admin")
    assert (r.status_code, r.json()["field"]) == (422, "role")
    assert http.get(f"/api/v1/users/{op.user_id}", headers=owner.headers).json()["role"] == "operator"


def test_unknown_permissions_and_overlaps_are_rejected(http) -> None:
    owner = new_company(http)
    op = join(http, owner, "operator")
    r = _patch(http, owner, op.user_id, granted=["orders.fly"])
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (422, "unknown_permission", "granted")
    r = _patch(http, owner, op.user_id, granted=["orders.act"], denied=["orders.act"])
    assert (r.status_code, r.json()["code"]) == (409, "grant_deny_overlap")


def test_removal_ends_access_at_once(http) -> None:
    owner = new_company(http)
    op = join(http, owner, "operator")
    assert http.delete(f"/api/v1/users/{op.user_id}", headers=owner.headers).status_code == 204
    r = http.get("/api/v1/auth/me", headers=op.headers)
    assert (r.status_code, r.json()["code"]) == (401, "membership_revoked")
    r = http.post("/api/v1/auth/refresh", json={"refresh_token": op.refresh_token})
    assert r.status_code == 401
    assert login(http, op.email).json()["company"] is None
    assert http.get(f"/api/v1/users/{op.user_id}", headers=owner.headers).status_code == 404


def test_staff_list_and_detail_are_audited_views(http, superuser_engine) -> None:
    owner = new_company(http)
    op = join(http, owner, "operator")
    page = http.get("/api/v1/users", params={"q": op.email[:12]}, headers=owner.headers).json()
    assert [m["id"] for m in page["items"]] == [op.user_id]
    everyone = http.get("/api/v1/users", params={"limit": 1}, headers=owner.headers).json()
    assert len(everyone["items"]) == 1 and everyone["next_cursor"]
    assert http.get(f"/api/v1/users/{op.user_id}", headers=owner.headers).json()["email"] == op.email
    r = http.get("/api/v1/users", headers=op.headers)
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    with superuser_engine.connect() as conn:
        views = conn.execute(
            text("select count(*) from audit_log where tenant_id = :t and action = 'view'"), {"t": owner.tenant_id}
        ).scalar()
    assert views == 3


def test_permission_changes_are_audited_with_before_and_after(http, superuser_engine) -> None:
    owner = new_company(http)
    op = join(http, owner, "operator")
    _patch(http, owner, op.user_id, granted=["reports.export"])
    with superuser_engine.connect() as conn:
        row = conn.execute(
            text(
                "select before, after, entity_id, actor_id from audit_log where tenant_id = :t and action = 'permission_change'"
            ),
            {"t": owner.tenant_id},
        ).one()
    assert row.before["granted"] == [] and row.after["granted"] == ["reports.export"]
    assert (row.entity_id, str(row.actor_id)) == (op.user_id, owner.user_id)
