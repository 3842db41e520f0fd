"""Instants as a site's clock shows them (pure: the server's texts and the terminal screens share it)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def site_clock(at: datetime, zone: ZoneInfo, fmt: str) -> str:
    """`at` on the site's clock in `fmt`; with the zone's abbreviation when that wall time occurs twice (the
    hour repeated when summer time ends), so the two read apart: 02:00 CEST, then 02:00 CET."""
    local = at.astimezone(zone)
    repeated = local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
    return f"{local:{fmt}} {local:%Z}" if repeated else f"{local:{fmt}}"
