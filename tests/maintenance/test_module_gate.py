"""Every maintenance route is an Advanced-edition module route with a maintenance permission,
and the role bundles hand out the four maintenance permissions as the issue names them."""

from __future__ import annotations

from factoryos.identity.permissions import ROLES, effective_permissions
from factoryos.licensing.document import Edition
from server.app import all_endpoints

MAINTENANCE = {"maintenance.view", "maintenance.request", "maintenance.workorder.trigger", "maintenance.manage"}


def test_every_maintenance_route_is_gated_and_permissioned() -> None:
    routes = [ep for ep in all_endpoints() if ep.path.startswith("/api/v1/maintenance")]
    assert len(routes) >= 20
    for ep in routes:
        assert ep.module == ("Maintenance", Edition.ADVANCED), ep.path
        assert ep.permission in MAINTENANCE | {"reports.export"}, ep.path


def test_role_bundles() -> None:
    held = {role: effective_permissions(role) & MAINTENANCE for role in ROLES}
    assert held["owner"] == held["admin"] == held["plant_manager"] == MAINTENANCE
    assert held["supervisor"] == MAINTENANCE - {"maintenance.manage"}
    assert held["operator"] == {"maintenance.view", "maintenance.request"}
    assert held["read_only"] == {"maintenance.view"}
    assert held["estimator"] == set()
