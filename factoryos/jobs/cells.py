"""One cell of an import file → a job value, or a `CellError` saying what is wrong with it.

Cells come as text (CSV) or as typed values (XLSX: numbers, dates, booleans).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

MAX_QUANTITY = 2_000_000_000
FIRST_YEAR, LAST_YEAR = 1990, 2100

DayOrder = Literal["dmy", "mdy"]


@dataclass
class CellError(Exception):
    code: str
    message: str


def text(value: Any) -> str | None:
    """A cell as trimmed text; None when empty. Whole numbers lose their `.0` (ERP numbers in XLSX)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    out = str(value).strip()
    return out or None


def bounded(value: Any, label: str, limit: int) -> str | None:
    out = text(value)
    if out is not None and len(out) > limit:
        raise CellError("too_long", f"{label} is longer than {limit} characters")
    return out


QuantityStyle = Literal["grouped", "decimal"]

_MULTI_GROUP = re.compile(r"^\d{1,3}([,.])\d{3}(?:\1\d{3})+$")
_SPACE_GROUP = re.compile(r"^\d{1,3}(?:[ '\u00a0\u202f]\d{3})+$")
_ONE_GROUP = re.compile(r"^(\d{1,3})[,.](\d{3})$")
_DECIMAL = re.compile(r"^(\d+)[.,](\d+)$")


def quantity_hint(raw: str) -> QuantityStyle | None:
    """What one quantity tells about the file: 1.200.000 groups thousands, 12.50 or 1200.000 has decimals."""
    compact = raw.strip()
    if _MULTI_GROUP.match(compact) or _SPACE_GROUP.match(compact):
        return "grouped"
    m = _DECIMAL.match(compact)
    if m and (len(m.group(2)) != 3 or len(m.group(1)) > 3):
        return "decimal"
    return None


def quantity(value: Any, style: QuantityStyle | None = None) -> int:
    """A whole number of pieces above 0. `1.200` is 1200 in a file that groups thousands and
    1.2 in one with decimals; when the file does not tell, such a cell is refused as ambiguous."""
    if isinstance(value, bool):
        raise CellError("invalid_quantity", "quantity must be a number of pieces, not true/false")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise CellError("invalid_quantity", f"quantity {value:g} is not a whole number")
        number = int(value)
    else:
        raw = text(value)
        if raw is None:
            raise CellError("required", "quantity is missing")
        number = _parse_count(raw, style)
    if number <= 0:
        raise CellError("invalid_quantity", f"quantity must be greater than 0 (got {number})")
    if number > MAX_QUANTITY:
        raise CellError("invalid_quantity", f"quantity {number} is too large")
    return number


def _parse_count(raw: str, style: QuantityStyle | None) -> int:
    compact = raw.strip()
    if re.fullmatch(r"[+-]?\d+", compact):
        return int(compact)
    if _MULTI_GROUP.match(compact) or _SPACE_GROUP.match(compact):
        return int(re.sub(r"\D", "", compact))
    one = _ONE_GROUP.match(compact)
    if one and style is None:
        raise CellError("ambiguous_quantity",
                        f"quantity {raw!r} could mean {one.group(1)}{one.group(2)} or "
                        f"{one.group(1)}.{one.group(2).rstrip('0') or '0'}: "
                        "write it without separators")
    if one and style == "grouped":
        return int(one.group(1) + one.group(2))
    decimal = _DECIMAL.match(compact)
    if decimal and set(decimal.group(2)) == {"0"}:
        return int(decimal.group(1))
    if decimal:
        raise CellError("invalid_quantity", f"quantity {raw!r} is not a whole number")
    raise CellError("invalid_quantity", f"quantity {raw[:40]!r} is not a number")


_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})$")
_SLASHED = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})$")
_NAMED = ("%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y",
          "%d. %B %Y", "%d. %b %Y")


def slash_order_hint(raw: str) -> DayOrder | None:
    """What one slashed date tells about the file's order: 25/12/2026 is day-first, 12/25 month-first."""
    m = _SLASHED.match(raw.strip())
    if not m:
        return None
    first, second = int(m.group(1)), int(m.group(2))
    if first > 12 >= second:
        return "dmy"
    if second > 12 >= first:
        return "mdy"
    return None


def due_date(value: Any, order: DayOrder | None) -> date:
    """A calendar date. Slashed dates need the file's order (see `slash_order_hint`) unless
    both readings agree; ISO (2026-09-01), dotted day-first (01.09.2026) and month names are fine."""
    if isinstance(value, datetime):
        return _in_range(value.date(), str(value))
    if isinstance(value, date):
        return _in_range(value, str(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError("invalid_date", f"{text(value)} is a number, not a date: use YYYY-MM-DD")
    raw = text(value)
    if raw is None:
        raise CellError("required", "due date is missing")
    return _in_range(_parse_date(raw, order), raw)


def _parse_date(raw: str, order: DayOrder | None) -> date:
    try:
        if m := _ISO.match(raw):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _DOTTED.match(raw):
            return date(_year(m.group(3)), int(m.group(2)), int(m.group(1)))
        if m := _SLASHED.match(raw):
            a, b, year = int(m.group(1)), int(m.group(2)), _year(m.group(3))
            if a == b or order is not None or a > 12 or b > 12:
                day_first = a > 12 or (order == "dmy" and b <= 12) or a == b
                return date(year, b, a) if day_first else date(year, a, b)
            raise CellError("ambiguous_date",
                            f"{raw!r} could be day/month or month/day: write it as YYYY-MM-DD")
    except ValueError:
        raise CellError("invalid_date", f"{raw!r} is not a calendar date") from None
    for fmt in _NAMED:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise CellError("invalid_date", f"{raw[:40]!r} is not a date: use YYYY-MM-DD")


def _year(raw: str) -> int:
    return 2000 + int(raw) if len(raw) == 2 else int(raw)


def _in_range(value: date, raw: str) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise CellError("invalid_date", f"{raw[:40]!r} is outside {FIRST_YEAR}–{LAST_YEAR}")
    return value


STATUS_WORDS: dict[str, str] = {
    "open": "planned", "new": "planned", "planned": "planned", "created": "planned", "offen": "planned",
    "released": "released", "release": "released", "started": "released", "in progress": "released",
    "active": "released", "freigegeben": "released",
    "done": "completed", "closed": "completed", "complete": "completed", "completed": "completed",
    "finished": "completed", "erledigt": "completed", "abgeschlossen": "completed",
    "cancelled": "cancelled", "canceled": "cancelled", "storniert": "cancelled",
}


def status(value: Any) -> str:
    raw = text(value)
    if raw is None:
        return "planned"
    found = STATUS_WORDS.get(" ".join(raw.lower().replace("_", " ").split()))
    if found is None:
        raise CellError("invalid_status", f"status {raw[:40]!r} is not planned, released, completed or cancelled")
    return found
