"""Invites die with their author's rights; denials are capped like grants (security round two)."""

from __future__ import annotations

from sqlalchemy import text

from tests.accounts import accept, invite, join, new_company


def _patch(http, by, user_id, **body):
    return http.patch(f"/api/v1/users/{user_id}/permissions", json=body, headers=by.headers)


def test_an_invite_stops_working_when_its_author_loses_the_right(http) -> None:
    owner = new_company(http)
    admin = join(http, owner, "admin")
    kept, denied_later = invite(http, admin, "admin"), invite(http, admin, "supervisor")
    assert _patch(http, owner, admin.user_id, denied=["invites.send"]).status_code == 200
    for inv in (kept, denied_later):
        r = accept(http, inv["code"])
        assert (r.status_code, r.json()["code"], r.json()["field"]) == (410, "invite_revoked", "code"), r.text
    # Given back: the same codes work again (they were refused, not consumed).
    assert _patch(http, owner, admin.user_id, denied=[]).status_code == 200
    assert accept(http, kept["code"]).status_code == 201


def test_an_invite_cannot_carry_a_role_its_author_no_longer_covers(http) -> None:
    owner = new_company(http)
    admin = join(http, owner, "admin")
    inv = invite(http, admin, "admin")
    assert _patch(http, owner, admin.user_id, denied=["machines.manage"]).status_code == 200
    r = accept(http, inv["code"])
    assert (r.status_code, r.json()["code"]) == (410, "invite_revoked")


def test_removing_a_member_revokes_their_pending_invites_audited(http, superuser_engine) -> None:
    owner = new_company(http)
    admin = join(http, owner, "admin")
    pending = invite(http, admin, "admin")
    assert http.delete(f"/api/v1/users/{admin.user_id}", headers=owner.headers).status_code == 204
    r = accept(http, pending["code"])
    assert (r.status_code, r.json()["code"]) == (410, "invite_revoked")
    with superuser_engine.connect() as conn:
        revoked = conn.execute(text("select revoked_at, revoked_by from invites where id = :i"),
                               {"i": pending["id"]}).one()
        audit = conn.execute(text("select actor_id, before from audit_log where entity_type = 'invite' "
                                  "and entity_id = :i and action = 'delete'"), {"i": pending["id"]}).one()
    assert revoked.revoked_at is not None and str(revoked.revoked_by) == owner.user_id
    assert str(audit.actor_id) == owner.user_id and audit.before["reason"] == "author_removed"


def test_denials_are_capped_like_grants(http) -> None:
    owner = new_company(http)
    admin = join(http, owner, "admin")
    supervisor = join(http, owner, "supervisor")
    assert _patch(http, owner, supervisor.user_id, granted=["permissions.manage"]).status_code == 200
    # A supervisor who may manage permissions still cannot deny what it does not hold…
    r = _patch(http, supervisor, admin.user_id, denied=["admin.system"])
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (403, "deny_exceeds_own", "denied")
    # …nor restrict a member whose role reaches beyond its own rights, even with what it holds.
    r = _patch(http, supervisor, admin.user_id, denied=["reports.export"])
    assert (r.status_code, r.json()["code"]) == (403, "target_outranks_you")
    operator = join(http, owner, "operator")
    assert _patch(http, supervisor, operator.user_id, denied=["production.entry"]).status_code == 200
    # An admin may give up admin.system while the owner still holds it.
    assert _patch(http, admin, admin.user_id, denied=["admin.system"]).status_code == 200
