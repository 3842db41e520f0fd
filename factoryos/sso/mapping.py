"""Group → role: the first rule (in order) whose group the person is in decides.

A rule's group matches a directory group by its full DN or by its name (the DN's first RDN
value, e.g. `cn=Operators,ou=groups,…` → `Operators`), without case: admins type either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from factoryos.sso.models import MappingRuleOut


@dataclass(frozen=True)
class Mapped:
    role: str
    granted: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()
    rule: int | None = None  # the position of the rule that decided; None: the default role


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
            return Mapped(rule.role, tuple(sorted(rule.granted)), tuple(sorted(rule.denied)), rule.position)
    return Mapped(default_role) if default_role else None
