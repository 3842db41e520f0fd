"""The route audit walk's step for per-machine certification (server/routes/certifications.py)."""

from __future__ import annotations

from tests.accounts import join
from tests.audit.walk import Expect, Walk, step
from tests.production import plant


@step("PUT /api/v1/users/{user_id:uuid}/machines")
def _member_machines(w: Walk) -> Expect:
    member = join(w.http, w.owner, "operator")
    site = plant.site(w.http, w.owner)
    machine = plant.machine(w.http, w.owner, site["id"])
    w.call("PUT", f"/api/v1/users/{member.user_id}/machines", json={"machine_ids": [machine["id"]]})
    return Expect("update", "membership", member.user_id, "update")
