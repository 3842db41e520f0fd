"""Atomic permissions and the roles that bundle them.

A member's effective permissions are their role's bundle, plus single grants, minus
single denials; the owner always holds every permission and cannot be overridden.
"""

from __future__ import annotations

from collections.abc import Iterable

from factoryos.errors import ValidationFailed

PERMISSIONS: tuple[str, ...] = (
    "orders.view",
    "orders.act",
    "customers.view",
    "customers.act",
    "assets.view",
    "assets.act",
    "invites.send",
    "permissions.manage",
    "production.entry",
    "production.plan",
    "machines.manage",
    "reports.export",
    "audit.view",
    "admin.system",
    "inventory.view",
    "inventory.move",
    "inventory.adjust",
    "quality.inspect",
    "quality.manage",
    "quality.approve",
    "maintenance.view",
    "maintenance.request",
    "maintenance.workorder.trigger",
    "maintenance.manage",
)

# Held by every active member: their own session, profile and MFA. Not grantable or deniable.
SIGNED_IN = "signed_in"

# What spans every company on the server (backups, restores, the license): `admin.system` in
# the company signed into, on an account the server host made an installation administrator
# (`factoryos user installation-admin`). No company can grant it.
INSTALLATION_ADMIN = "installation.admin"

KNOWN_PERMISSIONS: frozenset[str] = frozenset(PERMISSIONS) | {SIGNED_IN, INSTALLATION_ADMIN}

OWNER = "owner"

ROLES: dict[str, frozenset[str]] = {
    OWNER: frozenset(PERMISSIONS),
    "admin": frozenset(PERMISSIONS),
    "plant_manager": frozenset(
        {
            "orders.view",
            "orders.act",
            "customers.view",
            "assets.view",
            "assets.act",
            "invites.send",
            "production.entry",
            "production.plan",
            "machines.manage",
            "reports.export",
            "audit.view",
            "inventory.view",
            "inventory.move",
            "inventory.adjust",
            "quality.inspect",
            "quality.manage",
            "quality.approve",
            "maintenance.view",
            "maintenance.request",
            "maintenance.workorder.trigger",
            "maintenance.manage",
        }
    ),
    "supervisor": frozenset(
        {"orders.view", "orders.act", "assets.view", "production.entry", "production.plan", "reports.export"}
        | {"inventory.view", "inventory.move"}
        | {"quality.inspect", "quality.manage"}
        | {"maintenance.view", "maintenance.request", "maintenance.workorder.trigger"}
    ),
    "estimator": frozenset({"orders.view", "orders.act", "customers.view", "customers.act", "reports.export"}),
    "operator": frozenset({"orders.view", "assets.view", "production.entry", "inventory.view", "inventory.move",
                           "quality.inspect"} | {"maintenance.view", "maintenance.request"}),
    "read_only": frozenset({"orders.view", "customers.view", "assets.view", "inventory.view", "maintenance.view"}),
}

ROLE_TITLES: dict[str, str] = {
    OWNER: "Owner",
    "admin": "Admin",
    "plant_manager": "Plant Manager",
    "supervisor": "Supervisor",
    "estimator": "Estimator",
    "operator": "Operator",
    "read_only": "Read-Only",
}

# Roles an invite may carry: ownership is created with the company, never handed out.
INVITABLE_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r != OWNER)


def effective_permissions(role: str, granted: Iterable[str] = (), denied: Iterable[str] = ()) -> frozenset[str]:
    if role == OWNER:
        return ROLES[OWNER]
    base = ROLES.get(role, frozenset())
    return frozenset((base | set(granted)) - set(denied)) & ROLES[OWNER]


def with_installation(permissions: frozenset[str], installation_admin: bool) -> frozenset[str]:
    if installation_admin and "admin.system" in permissions:
        return permissions | {INSTALLATION_ADMIN}
    return permissions


def check_permission_names(names: Iterable[str], field: str) -> list[str]:
    """Sorted, de-duplicated; unknown names are a 422 naming the field."""
    unique = sorted(set(names))
    unknown = [n for n in unique if n not in PERMISSIONS]
    if unknown:
        raise ValidationFailed(
            f"unknown permission(s): {', '.join(unknown)}",
            code="unknown_permission",
            field=field,
            extra={"known": list(PERMISSIONS)},
        )
    return unique
