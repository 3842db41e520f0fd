"""Frozen helpers for site-scoped access (revision 0021 and later): never edit this file.

A membership may be limited to some sites: the request transaction then carries them in the
transaction-local `app.site_ids` ('' or unset: every site; else an array literal `{uuid,…}`).
A site-bound table gets one RESTRICTIVE policy `site_scope` on top of the tenant policy, so a
row must pass both. Keys are checked cheaply: the scope is read once per statement (an
InitPlan), the unscoped case short-circuits before anything else, and a row keyed by a machine
(asset, location, shift) is visible when that parent is, through the parent's own policy (one
hashed subplan per statement, not a lookup per row). A NULL key is not site-bound.
"""

from __future__ import annotations

import re
from typing import Any

SITE_SETTING = "app.site_ids"
SITE_POLICY = "site_scope"
SCOPE = "(select nullif(current_setting('app.site_ids', true), '')::uuid[])"

# What a key column's value must be in, keyed by the parent the column points at.
PARENTS = {
    "site": None,  # compared with the scope itself
    "machine": "select m.id from public.machines m",
    "location": "select l.id from public.locations l",
    "asset": "select a.id from public.maintenance_assets a",
    "shift_instance": "select s.id from public.shift_instances s",
}

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def key_in_scope(column: str, parent: str) -> str:
    """`column` (NULL, or a key of `parent`) is within the caller's sites."""
    col = _ident(column)
    if parent == "site":
        # The cast makes ANY take the array, not a subquery's rows.
        return f"({col} is null or {col} = any({SCOPE}::uuid[]))"
    return f"({col} is null or {col} in ({PARENTS[parent]}))"


def enable_site_scope(op: Any, table: str, predicate: str) -> None:
    """Add the RESTRICTIVE site policy (USING and WITH CHECK) with a predicate built above."""
    t = _ident(table)
    check = f"({SCOPE} is null or ({predicate}))"
    op.execute(f"CREATE POLICY {SITE_POLICY} ON {t} AS RESTRICTIVE FOR ALL USING {check} WITH CHECK {check}")


def disable_site_scope(op: Any, table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {SITE_POLICY} ON {_ident(table)}")
