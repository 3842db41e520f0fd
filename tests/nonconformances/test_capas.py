"""CAPA through the real API: from NCs, 5-Why, actions with owners and due dates, steps approved by
electronic signatures (a second person; a later change voids an approval), overdue actions per owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.nonconformances.support import CAPA, NC, ok, open_nc, quality_plant, signature
from tests.production.plant import problem


def _approve(http, who, capa_id: str, step: str, **sig):
    return http.post(f"{CAPA}/{capa_id}/approve", json={"step": step, "signature": signature(who, **sig)},
                     headers=who.headers)


def _step(capa: dict, name: str) -> dict:
    return next(s for s in capa["steps"] if s["step"] == name)


def test_capa_from_ncs_through_every_signed_step_to_closed(http) -> None:
    p = quality_plant(http)
    nc1 = open_nc(http, p.operator, p.machine["id"], description="Grat an Bohrung")
    nc2 = open_nc(http, p.operator, p.machine["id"], description="Grat an Bohrung, 2. Schicht")
    capa = ok(http.post(CAPA, json={"title": "Burrs at drilling", "problem": "Two shifts found burrs",
                                    "nonconformance_ids": [nc1["id"], nc2["id"]], "owner_id": p.manager.user_id,
                                    "containment": "100 % check of stock"}, headers=p.supervisor.headers), 201)
    assert (capa["code"], capa["status"], capa["owner_id"]) == ("CAPA-0001", "open", p.manager.user_id)
    assert capa["nonconformance_codes"] == ["NC-0001", "NC-0002"]
    assert [(s["step"], s["ready"], s["approved"]) for s in capa["steps"]] == [
        ("containment", True, False), ("root_cause", False, False), ("actions", False, False),
        ("effectiveness", False, False)]
    cid = capa["id"]
    assert ok(http.get(f"{NC}/{nc1['id']}", headers=p.operator.headers))["capa_ids"] == [cid]
    # The owner may approve elsewhere, not their own CAPA: a second person signs.
    problem(_approve(http, p.manager, cid, "containment"), 403, "signature_same_person", "signature")
    problem(_approve(http, p.supervisor, cid, "containment"), 403, "permission_denied")
    problem(_approve(http, p.owner, cid, "root_cause"), 409, "capa_step_incomplete", "step")
    capa = ok(_approve(http, p.owner, cid, "containment", meaning="reviewed"))
    assert _step(capa, "containment")["approved"] is False  # reviewed is not approved
    capa = ok(_approve(http, p.owner, cid, "containment"))
    assert _step(capa, "containment")["approved"] is True
    # 5-Why and root cause, approved, then edited: the approval no longer holds.
    whys = ["Burr at exit", "Drill dull", "Changed too late", "No tool life count", "Counter not in the PLC"]
    capa = ok(http.patch(f"{CAPA}/{cid}", json={"whys": whys, "root_cause": "Tool life not tracked"},
                         headers=p.supervisor.headers))
    assert capa["whys"] == whys and _step(capa, "root_cause")["ready"] is True
    ok(_approve(http, p.owner, cid, "root_cause"))
    capa = ok(http.patch(f"{CAPA}/{cid}", json={"root_cause": "Tool life not tracked in the PLC"},
                         headers=p.supervisor.headers))
    step = _step(capa, "root_cause")
    assert step["approved"] is False and [s["valid"] for s in step["signatures"]] == [False]
    problem(_approve(http, p.owner, cid, "actions"), 409, "capa_step_incomplete")  # no actions yet
    capa = ok(_approve(http, p.owner, cid, "root_cause"))
    assert [s["valid"] for s in _step(capa, "root_cause")["signatures"]] == [False, True]
    # An action for the operator, already late; it shows in their overdue list only.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    capa = ok(http.post(f"{CAPA}/{cid}/actions", json={"kind": "corrective", "description": "Count tool life",
                                                        "owner_id": p.operator.user_id, "due_date": yesterday},
                        headers=p.supervisor.headers), 201)
    [action] = capa["actions"]
    assert action["overdue"] is True and action["owner_name"] == "Sam Staff"
    mine = ok(http.get(f"{CAPA}/actions", params={"owner": "me", "overdue": "true"}, headers=p.operator.headers))
    assert [(a["id"], a["capa_code"]) for a in mine] == [(action["id"], "CAPA-0001")]
    assert ok(http.get(f"{CAPA}/actions", params={"overdue": "true"}, headers=p.owner.headers)) == []
    problem(http.get(f"{CAPA}/actions", params={"owner": "someone"}, headers=p.owner.headers), 422,
            "validation_failed", "owner")
    ok(_approve(http, p.owner, cid, "actions"))
    problem(_approve(http, p.owner, cid, "effectiveness"), 409, "capa_step_incomplete")
    # Only the action's owner (or quality.manage) marks it done.
    other = quality_plant(http)  # a stranger company's operator cannot even see it
    problem(http.post(f"{CAPA}/{cid}/actions/{action['id']}/done", json={}, headers=other.operator.headers), 404,
            "capa_not_found")
    capa = ok(http.post(f"{CAPA}/{cid}/actions/{action['id']}/done", json={"note": "Counter added"},
                        headers=p.operator.headers))
    assert capa["actions"][0]["done_at"] and capa["actions"][0]["overdue"] is False
    problem(http.post(f"{CAPA}/{cid}/actions/{action['id']}/done", json={}, headers=p.operator.headers), 409,
            "capa_action_done")
    assert ok(http.get(f"{CAPA}/actions", params={"owner": "me"}, headers=p.operator.headers)) == []
    capa = ok(http.patch(f"{CAPA}/{cid}", json={"effectiveness_check": "No burrs in 4 weeks", "effective": True},
                         headers=p.supervisor.headers))
    closed = ok(_approve(http, p.owner, cid, "effectiveness"))
    assert closed["status"] == "closed" and closed["closed_at"]
    assert all(s["approved"] for s in closed["steps"])
    problem(http.patch(f"{CAPA}/{cid}", json={"title": "x"}, headers=p.supervisor.headers), 409, "capa_closed")
    listed = ok(http.get(CAPA, params={"status": "closed", "nonconformance_id": nc2["id"]}, headers=p.operator.headers))
    assert [c["id"] for c in listed["items"]] == [cid]


def test_steps_are_approved_in_order_and_bad_input_is_refused(http) -> None:
    p = quality_plant(http)
    nc = open_nc(http, p.operator, p.machine["id"])
    problem(http.post(CAPA, json={"title": "t", "problem": "p", "nonconformance_ids": []},
                      headers=p.supervisor.headers), 422, "validation_failed", "nonconformance_ids")
    problem(http.post(CAPA, json={"title": "t", "problem": "p", "nonconformance_ids": [p.machine["id"]]},
                      headers=p.supervisor.headers), 422, "nonconformance_not_found", "nonconformance_ids")
    problem(http.post(CAPA, json={"title": "t", "problem": "p", "nonconformance_ids": [nc["id"]]},
                      headers=p.operator.headers), 403, "permission_denied")
    capa = ok(http.post(CAPA, json={"title": "t", "problem": "p", "nonconformance_ids": [nc["id"]]},
                        headers=p.supervisor.headers), 201)
    assert capa["owner_id"] == p.supervisor.user_id  # default: who opened it
    problem(http.patch(f"{CAPA}/{capa['id']}", json={"whys": ["a"] * 6}, headers=p.supervisor.headers), 422,
            "validation_failed", "whys")
    problem(http.post(f"{CAPA}/{capa['id']}/actions", json={"description": "d", "owner_id": p.machine["id"],
                                                            "due_date": "2026-12-31"}, headers=p.supervisor.headers),
            422, "not_a_member", "owner_id")
    ok(http.patch(f"{CAPA}/{capa['id']}", json={"containment": "Quarantine", "whys": ["w"], "root_cause": "r"},
                  headers=p.supervisor.headers))
    problem(_approve(http, p.manager, capa["id"], "root_cause"), 409, "capa_step_order", "step")
    problem(_approve(http, p.manager, capa["id"], "containment", password="wrong"), 403, "signature_invalid")
