"""Quantities as people write them: 500, not 5E+2 nor 500.000000 (numeric columns pad to their scale)."""

from __future__ import annotations

from decimal import Decimal


def plain(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else Decimal(format(Decimal(value).normalize(), "f"))
