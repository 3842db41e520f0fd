"""The paper a site prints on: its setting, else Letter in United States time zones and A4 elsewhere."""

from __future__ import annotations

from typing import Any

PAPER_SIZES = ("A4", "Letter")
_US_ZONES = frozenset({
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix",
    "America/Anchorage", "America/Juneau", "America/Sitka", "America/Yakutat", "America/Nome", "America/Metlakatla",
    "America/Adak", "America/Boise", "America/Detroit", "America/Menominee", "Pacific/Honolulu", "America/Puerto_Rico",
})
_US_PREFIXES = ("US/", "America/Indiana/", "America/Kentucky/", "America/North_Dakota/")


def default_paper(timezone: str) -> str:
    return "Letter" if timezone in _US_ZONES or timezone.startswith(_US_PREFIXES) else "A4"


def site_paper(site: Any) -> str:
    """`site`: its row (or a mapping with `paper_size` and `timezone`)."""
    return site.get("paper_size") or default_paper(str(site["timezone"]))
