"""The route audit walk's step for site-scoped access (see tests/audit/walk.py)."""

from __future__ import annotations

from tests.accounts import join
from tests.audit.walk import Expect, Walk, step
from tests.production import plant


@step("PUT /api/v1/users/{user_id:uuid}/sites")
def _member_sites(w: Walk) -> Expect:
    member = join(w.http, w.owner, "operator")
    site = plant.site(w.http, w.owner)
    w.call("PUT", f"/api/v1/users/{member.user_id}/sites", json={"site_ids": [site["id"]]})
    return Expect("update", "membership", member.user_id, "update")
