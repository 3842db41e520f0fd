"""The route audit walk's steps for the quality routes (see tests/audit/walk.py).

They run after the core steps: the walk's product and machine exist (w.state)."""

from __future__ import annotations

from typing import Any

from tests.audit.walk import Expect, Walk, step
from tests.quality import support


def _plan(w: Walk) -> dict[str, Any]:
    if "quality_plan" not in w.state:
        _plan_create(w)
    return w.state["quality_plan"]


@step("POST /api/v1/quality/plans")
def _plan_create(w: Walk) -> Expect:
    p = w.call("POST", "/api/v1/quality/plans", json={
        "name": "Walk plan", "machine_id": w.state["machine"]["id"], "version": support.version()}).json()
    w.state["quality_plan"] = p
    return Expect("create", "inspection_plan", p["id"], "create")


@step("PUT /api/v1/quality/plans/{plan_id:uuid}/versions/{version:int}")
def _version_update(w: Walk) -> Expect:
    p = _plan(w)
    v = w.call("PUT", f"/api/v1/quality/plans/{p['id']}/versions/1", json=support.version(every_parts=25)).json()
    return Expect("update", "inspection_plan_version", v["id"], "update")


@step("POST /api/v1/quality/plans/{plan_id:uuid}/versions/{version:int}/release")
def _version_release(w: Walk) -> Expect:
    p = _plan(w)
    v = w.call("POST", f"/api/v1/quality/plans/{p['id']}/versions/1/release",
               json={"signature": support.signature(w.owner)}).json()
    w.state["quality_version"] = v
    return Expect("update", "inspection_plan_version", v["id"], "update")


@step("POST /api/v1/quality/plans/{plan_id:uuid}/versions")
def _version_create(w: Walk) -> Expect:
    p = _plan(w)
    v = w.call("POST", f"/api/v1/quality/plans/{p['id']}/versions", json={}).json()
    return Expect("create", "inspection_plan_version", v["id"], "create")


@step("POST /api/v1/inspections")
def _inspection(w: Walk) -> Expect:
    p, v = _plan(w), w.state["quality_version"]
    r = support.inspect(w.http, w.owner, w.state["machine"]["id"], p["id"], v)
    assert r.status_code == 201, r.text
    return Expect("create", "inspection", r.json()["id"], "create")
