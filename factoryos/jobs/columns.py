"""Header row → job fields: case-insensitive, with the names ERPs and spreadsheets commonly use."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from factoryos.errors import ValidationFailed

REQUIRED: tuple[str, ...] = ("job_number", "product", "quantity", "due_date")
OPTIONAL: tuple[str, ...] = ("customer", "site_code", "machine_code", "status", "notes")
FIELDS: tuple[str, ...] = REQUIRED + OPTIONAL

# Normalised spellings (lower case, punctuation as spaces); the field name itself is always accepted.
ALIASES: dict[str, tuple[str, ...]] = {
    "job_number": ("job", "job number", "job no", "job nr", "job id", "job ref", "jobnumber", "order",
                   "order number", "order no", "order nr", "order id", "ordernumber", "work order",
                   "work order number", "work order no", "wo", "wo number", "production order",
                   "production order number", "prod order", "manufacturing order", "mo", "auftrag",
                   "auftragsnummer", "auftrags nr", "fertigungsauftrag"),
    "product": ("product", "part", "part number", "part no", "part nr", "partnumber", "item", "item number",
                "item no", "article", "article number", "sku", "material", "product code", "product number",
                "produkt", "artikel", "artikelnummer", "teil", "teilenummer"),
    "quantity": ("qty", "quantity", "order qty", "order quantity", "qty ordered", "amount", "pieces", "pcs",
                 "count", "units", "menge", "stück", "stk"),
    "due_date": ("due", "due date", "due on", "duedate", "deadline", "delivery date", "ship date",
                 "required date", "need by", "needed by", "finish by", "end date", "termin", "liefertermin",
                 "fällig", "fälligkeit"),
    "customer": ("customer", "customer name", "client", "account", "kunde", "kundenname"),
    "site_code": ("site", "site code", "plant", "location", "werk", "standort"),
    "machine_code": ("machine", "machine code", "resource", "work center", "workcenter", "station", "asset",
                     "maschine", "arbeitsplatz"),
    "status": ("status", "state", "job status", "order status"),
    "notes": ("notes", "note", "comment", "comments", "remarks", "remark", "description", "bemerkung", "notiz"),
}

_PUNCT = re.compile(r"[\s_\-./#:()]+")


def normalize(header: str) -> str:
    return _PUNCT.sub(" ", header.strip().lower()).strip()


_LOOKUP: dict[str, str] = {}
for _field, _names in ALIASES.items():
    for _name in (*_names, normalize(_field)):
        _LOOKUP.setdefault(_name, _field)


def field_of(header: str) -> str | None:
    return _LOOKUP.get(normalize(header))


@dataclass(frozen=True)
class ColumnMapping:
    headers: list[str]
    fields: list[str | None]  # per column: the field it fills, or None (ignored)

    def index(self, field: str) -> int | None:
        return self.fields.index(field) if field in self.fields else None

    def header(self, field: str) -> str | None:
        i = self.index(field)
        return self.headers[i] if i is not None else None


def known_count(cells: Sequence[object]) -> int:
    """How many distinct fields a candidate header row names (to find the header and delimiter)."""
    return len({f for c in cells if isinstance(c, str) and (f := field_of(c))})


def map_columns(headers: list[str]) -> ColumnMapping:
    """Each field from the first column naming it; later duplicates are ignored. Refuses a
    header that lacks a required field, naming what is missing and what was found."""
    fields: list[str | None] = []
    seen: set[str] = set()
    for header in headers:
        field = field_of(header)
        if field is None or field in seen:
            fields.append(None)
            continue
        seen.add(field)
        fields.append(field)
    missing = [f for f in REQUIRED if f not in seen]
    if missing:
        shown = ", ".join(repr(h) for h in headers if h) or "none"
        raise ValidationFailed(
            f"the header row has no column for {', '.join(missing)} (columns found: {shown[:300]}); "
            "name them e.g. Job, Product, Qty, Due",
            code="missing_columns",
            field="content",
            extra={"missing": missing, "columns_found": headers[:50]},
        )
    return ColumnMapping(headers, fields)
