"""One row per maintenance tenant table for the isolation matrix (tests/tenancy_seed.py)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection

MAINTENANCE_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {}
