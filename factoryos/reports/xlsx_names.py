"""Unique, valid names for worksheets and Excel tables."""

from __future__ import annotations

import re

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31


class Names:
    """Hands out names that Excel accepts and that never collide within one workbook."""

    def __init__(self) -> None:
        self._sheets: set[str] = set()
        self._tables: set[str] = set()

    def sheet(self, title: str) -> str:
        base = _SHEET_FORBIDDEN.sub(" ", title).strip().strip("'") or "Sheet"
        name = base[:_SHEET_MAX]
        n = 2
        while name.casefold() in self._sheets:
            suffix = f" ({n})"
            name = base[: _SHEET_MAX - len(suffix)] + suffix
            n += 1
        self._sheets.add(name.casefold())
        return name

    def table(self, key: str) -> str:
        base = "tbl_" + (re.sub(r"\W", "_", key, flags=re.ASCII) or "data")
        name, n = base, 2
        while name.casefold() in self._tables:
            name = f"{base}_{n}"
            n += 1
        self._tables.add(name.casefold())
        return name


def unique_labels(labels: list[str]) -> list[str]:
    """Excel table column names must be unique (case-insensitively)."""
    seen: set[str] = set()
    out = []
    for label in labels:
        name, n = label or "Column", 2
        while name.casefold() in seen:
            name = f"{label} ({n})"
            n += 1
        seen.add(name.casefold())
        out.append(name)
    return out
