"""The route audit walk's steps for the site edge routes (see tests/audit/walk.py)."""

from __future__ import annotations

from tests.audit.walk import Expect, Walk, step


@step("POST /api/v1/edges")
def _edge_create(w: Walk) -> Expect:
    made = w.call("POST", "/api/v1/edges", json={"site_id": w.state["site"]["id"], "name": "Walk edge"}).json()
    w.state["edge"] = made
    return Expect("create", "edge", made["id"], "create")


@step("POST /api/v1/edges/{edge_id:uuid}/rotate")
def _edge_rotate(w: Walk) -> Expect:
    edge = w.state["edge"]
    w.call("POST", f"/api/v1/edges/{edge['id']}/rotate")
    return Expect("rotate_secret", "edge", edge["id"], "update")


@step("POST /api/v1/edges/{edge_id:uuid}/revoke")
def _edge_revoke(w: Walk) -> Expect:
    edge = w.state["edge"]
    w.call("POST", f"/api/v1/edges/{edge['id']}/revoke")
    return Expect("revoke", "edge", edge["id"], "update")
