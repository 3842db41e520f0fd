"""The route audit walk's steps for the nonconformances and CAPA routes (see tests/audit/walk.py)."""

from __future__ import annotations

from tests.accounts import join
from tests.audit.walk import Expect, Walk, step

NC = "/api/v1/nonconformances"


def _sig(w: Walk) -> dict:
    return {"password": w.owner.password, "meaning": "approved", "reason": "walk"}


@step("POST /api/v1/nonconformances")
def _nc_create(w: Walk) -> Expect:
    r = w.call("POST", NC, json={"machine_id": w.state["machine"]["id"], "quantity": 3, "description": "Burr"})
    w.state["nc"] = r.json()
    return Expect("create", "nonconformance", r.json()["id"], "create")


@step("PATCH /api/v1/nonconformances/{nc_id:uuid}")
def _nc_patch(w: Walk) -> Expect:
    nc = w.state["nc"]
    w.call("PATCH", f"{NC}/{nc['id']}", json={"quantity": 4, "reason": "recounted"})
    return Expect("update", "nonconformance", nc["id"], "update")


@step("POST /api/v1/nonconformances/{nc_id:uuid}/disposition")
def _nc_disposition(w: Walk) -> Expect:
    nc = w.state["nc"]
    w.call("POST", f"{NC}/{nc['id']}/disposition", json={"disposition": "scrap"})
    return Expect("update", "nonconformance", nc["id"], "update")


@step("POST /api/v1/nonconformances/{nc_id:uuid}/close")
def _nc_close(w: Walk) -> Expect:
    nc = w.state["nc"]
    w.call("POST", f"{NC}/{nc['id']}/close", json={"signature": _sig(w)})
    return Expect("update", "nonconformance", nc["id"], "update")


CAPA = "/api/v1/capas"


@step("POST /api/v1/capas")
def _capa_create(w: Walk) -> Expect:
    nc = w.call("POST", NC, json={"machine_id": w.state["machine"]["id"], "quantity": 1, "description": "Crack"})
    # Owned by another member: the company's owner approves the steps (a second person signs).
    member = join(w.http, w.owner, "supervisor")
    r = w.call("POST", CAPA, json={"title": "Cracks", "problem": "Cracks at the weld", "containment": "Sort stock",
                                   "nonconformance_ids": [nc.json()["id"]], "owner_id": member.user_id})
    w.state["capa"] = r.json()
    return Expect("create", "capa", r.json()["id"], "create")


@step("PATCH /api/v1/capas/{capa_id:uuid}")
def _capa_patch(w: Walk) -> Expect:
    capa = w.state["capa"]
    w.call("PATCH", f"{CAPA}/{capa['id']}", json={"whys": ["Weld too cold"], "root_cause": "Preheat skipped"})
    return Expect("update", "capa", capa["id"], "update")


@step("POST /api/v1/capas/{capa_id:uuid}/actions")
def _capa_action(w: Walk) -> Expect:
    capa = w.state["capa"]
    r = w.call("POST", f"{CAPA}/{capa['id']}/actions", json={
        "description": "Preheat interlock", "owner_id": w.owner.user_id, "due_date": "2030-01-31"})
    w.state["capa_action"] = r.json()["actions"][0]
    return Expect("create", "capa_action", r.json()["actions"][0]["id"], "create")


@step("POST /api/v1/capas/{capa_id:uuid}/actions/{action_id:uuid}/done")
def _capa_action_done(w: Walk) -> Expect:
    capa, action = w.state["capa"], w.state["capa_action"]
    w.call("POST", f"{CAPA}/{capa['id']}/actions/{action['id']}/done", json={"note": "fitted"})
    return Expect("update", "capa_action", action["id"], "update")


@step("POST /api/v1/capas/{capa_id:uuid}/approve")
def _capa_approve(w: Walk) -> Expect:
    capa = w.state["capa"]
    w.call("POST", f"{CAPA}/{capa['id']}/approve", json={"step": "containment", "signature": _sig(w)})
    return Expect("update", "capa", capa["id"], "update")
