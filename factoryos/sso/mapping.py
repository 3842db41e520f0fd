"""Group → role (and sites): the first rule (in order) whose group the person is in decides.

A rule's group matches a directory group by its full DN or by its name (the DN's first RDN
value, e.g. `cn=Operators,ou=groups,…` → `Operators`), without case: admins type either.

A rule naming sites limits the member to them at every sign-in; a rule naming none leaves the
member's sites as an administrator set them, so signing in never widens a limit set by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Connection

from factoryos.identity.memberships import known_sites
from factoryos.sso.models import MappingRuleIn, MappingRuleOut


@dataclass(frozen=True)
class Mapped:
    role: str
    granted: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()
    rule: int | None = None  # the position of the rule that decided; None: the default role
    site_ids: tuple[UUID, ...] | None = None  # None: the rule names no sites


def group_keys(groups: Iterable[str]) -> set[str]:
    """Every name a group may be matched by: the whole value and, for a DN, its first RDN value."""
    keys: set[str] = set()
    for group in groups:
        value = group.strip()
        if not value:
            continue
        keys.add(value.lower())
        first = value.split(",", 1)[0]
        if "=" in first and "," in value:
            keys.add(first.split("=", 1)[1].strip().lower())
    return keys


def map_groups(rules: list[MappingRuleOut], default_role: str | None, groups: Iterable[str]) -> Mapped | None:
    """The role these groups give, or None: refused (no rule matched and no default role)."""
    keys = group_keys(groups)
    for rule in rules:
        if rule.group.strip().lower() in keys:
            sites = tuple(rule.site_ids) if rule.site_ids is not None else None
            return Mapped(rule.role, tuple(sorted(rule.granted)), tuple(sorted(rule.denied)), rule.position, sites)
    return Mapped(default_role) if default_role else None


def site_scope_after(mapped: Mapped, current: Sequence[UUID] | None) -> list[UUID] | None:
    """The member's sites after this sign-in: the rule's when it names some, else unchanged."""
    if mapped.site_ids is not None:
        return list(mapped.site_ids)
    return list(current) if current is not None else None


def check_rule_sites(conn: Connection, tenant_id: UUID, rules: Sequence[MappingRuleIn]) -> None:
    """422 naming the rule when one names a site this company does not have."""
    for index, rule in enumerate(rules):
        if rule.site_ids is not None:
            known_sites(conn, tenant_id, rule.site_ids, field=f"rules[{index}].site_ids")
