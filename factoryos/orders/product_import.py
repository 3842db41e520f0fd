"""Product and routing imports from CSV/XLSX: a preview with per-row errors, then all or nothing.

The file is read by the job import's reader (format, encoding, delimiter, size limits); the
header row is then chosen again with the names below, since the reader looks for job columns.
Products: new numbers are added, known ones updated. Routings: every product the file names
gets the file's operations as its whole routing (as `PUT …/routing` does); with `skip_invalid`
a product with any invalid row keeps its routing, so no routing is ever half imported.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, bindparam, func, insert, select, update

from factoryos.db.constraints import constraint_errors
from factoryos.errors import Conflict, ValidationFailed
from factoryos.jobs import cells
from factoryos.jobs.cells import CellError
from factoryos.jobs.checks import Code, Codes
from factoryos.jobs.columns import ColumnMapping, normalize
from factoryos.jobs.importer import decode_content
from factoryos.jobs.limits import MAX_LISTED_ERRORS, MAX_ROWS, max_file_bytes
from factoryos.jobs.models import ColumnOut, ImportLimits, RowError
from factoryos.jobs.reader import HEADER_SEARCH, Sheet, read_sheet
from factoryos.orders.product_models import (
    MAX_OPERATIONS,
    MAX_PARTS_PER_CYCLE,
    MAX_SEQ,
    ProductImportIn,
    ProductImportOut,
    ProductImportRow,
    RoutingImportOut,
    RoutingImportRow,
)
from factoryos.orders.routings import checked_setup, standard_cycle, store_routing
from factoryos.schema.orders import products
from factoryos.schema.plant import lines, machines

_NUMBER = ("number", "product", "product number", "product no", "product nr", "product code", "part", "part number",
           "part no", "part nr", "item", "item number", "item no", "article", "article number", "sku", "material",
           "material number", "produkt", "artikel", "artikelnummer", "teil", "teilenummer", "sachnummer")

PRODUCT_ALIASES: dict[str, tuple[str, ...]] = {
    "number": _NUMBER,
    "name": ("name", "product name", "part name", "item name", "description", "designation", "title", "bezeichnung",
             "benennung", "beschreibung"),
    "unit": ("unit", "uom", "unit of measure", "units", "einheit", "me", "mengeneinheit"),
    "status": ("status", "state", "product status"),
}
PRODUCT_REQUIRED = ("number", "name")

ROUTING_ALIASES: dict[str, tuple[str, ...]] = {
    "product_number": _NUMBER,
    "seq": ("seq", "sequence", "op", "op no", "op nr", "op number", "op seq", "operation no", "operation nr",
            "operation number", "operation seq", "step", "step no", "arbeitsgang", "ag", "ag nr", "vorgang"),
    "operation": ("operation", "operation name", "op name", "name", "step name", "description",
                  "arbeitsgangbezeichnung", "vorgangsbezeichnung", "bezeichnung"),
    "machine_code": ("machine", "machine code", "resource", "work center", "workcenter", "station", "asset",
                     "maschine", "arbeitsplatz"),
    "line_code": ("line", "line code", "production line", "linie", "fertigungslinie"),
    "cycle_seconds": ("cycle", "cycle s", "cycle sec", "cycle seconds", "cycle time", "cycle time s",
                      "standard cycle", "ideal cycle", "ideal cycle seconds", "zykluszeit", "taktzeit"),
    "rate_per_hour": ("rate", "rate per hour", "rate h", "parts per hour", "pcs per hour", "pieces per hour",
                      "units per hour", "pph", "output per hour", "stück pro stunde", "stück h"),
    "parts_per_cycle": ("parts per cycle", "parts cycle", "pcs per cycle", "pieces per cycle", "cavities",
                        "cavity", "kavitäten", "nester", "fach"),
    "setup_seconds": ("setup", "setup s", "setup sec", "setup seconds", "setup time", "setup time s", "changeover",
                      "changeover s", "changeover seconds", "rüstzeit", "rüstzeit s"),
}
ROUTING_REQUIRED = ("product_number", "seq", "operation")
# Each row names one of each pair (a column of at least one of them must exist).
ROUTING_ONE_OF = (("machine_code", "line_code"), ("cycle_seconds", "rate_per_hour"))

STATUS_WORDS = {"active": "active", "aktiv": "active", "released": "active", "freigegeben": "active",
                "obsolete": "obsolete", "obsolet": "obsolete", "inactive": "obsolete", "discontinued": "obsolete",
                "blocked": "obsolete", "gesperrt": "obsolete", "inaktiv": "obsolete"}


def _lookup(aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, names in aliases.items():
        for alias in (*names, normalize(name)):
            out.setdefault(alias, name)
    return out


_PRODUCT_LOOKUP = _lookup(PRODUCT_ALIASES)
_ROUTING_LOOKUP = _lookup(ROUTING_ALIASES)


def import_limits(max_body_bytes: int, routings: bool) -> ImportLimits:
    aliases = ROUTING_ALIASES if routings else PRODUCT_ALIASES
    required = ROUTING_REQUIRED if routings else PRODUCT_REQUIRED
    return ImportLimits(max_file_bytes=max_file_bytes(max_body_bytes), max_body_bytes=max_body_bytes,
                        max_rows=MAX_ROWS, formats=["csv", "xlsx"], required=list(required),
                        columns={f: sorted({f, *names}) for f, names in aliases.items()})


# -- reading ------------------------------------------------------------------------------------


def _cells_text(row: list[Any]) -> list[str]:
    return ["" if c is None else str(c).strip() for c in row]


def _known(row: list[Any], lookup: dict[str, str]) -> int:
    return len({f for c in row if isinstance(c, str) and (f := lookup.get(normalize(c)))})


def _rehead(sheet: Sheet, lookup: dict[str, str]) -> Sheet:
    """The header among the reader's choice and the rows after it that names most of our fields."""
    candidates = [(sheet.header_row, list(sheet.header))] + sheet.rows[:HEADER_SEARCH - 1]
    best = max(range(len(candidates)), key=lambda i: (_known(candidates[i][1], lookup), -i))
    if best == 0:
        return sheet
    number, header = candidates[best]
    return Sheet(sheet.format, sheet.delimiter, _cells_text(header), number, sheet.rows[best:])


def _map(headers: list[str], lookup: dict[str, str], required: tuple[str, ...],
         one_of: tuple[tuple[str, str], ...], example: str) -> ColumnMapping:
    fields: list[str | None] = []
    seen: set[str] = set()
    for header in headers:
        name = lookup.get(normalize(header))
        fields.append(None if name is None or name in seen else name)
        if name is not None:
            seen.add(name)
    missing = [f for f in required if f not in seen]
    missing += [f"{a} or {b}" for a, b in one_of if a not in seen and b not in seen]
    if missing:
        shown = ", ".join(repr(h) for h in headers if h) or "none"
        raise ValidationFailed(
            f"the header row has no column for {', '.join(missing)} (columns found: {shown[:300]}); "
            f"name them e.g. {example}",
            code="missing_columns", field="content", extra={"missing": missing, "columns_found": headers[:50]})
    return ColumnMapping(headers, fields)


def _read(body: ProductImportIn, max_body_bytes: int, lookup: dict[str, str], required: tuple[str, ...],
          one_of: tuple[tuple[str, str], ...], example: str) -> tuple[Sheet, ColumnMapping]:
    sheet = _rehead(read_sheet(decode_content(body.content, max_body_bytes), body.file_name), lookup)
    return sheet, _map(sheet.header, lookup, required, one_of, example)


# -- cells ----------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def number_cell(value: Any, label: str) -> Decimal | None:
    """A decimal number (a decimal comma is fine: 12,5); None when empty."""
    if isinstance(value, bool):
        raise CellError("invalid_number", f"{label} must be a number, not true/false")
    if isinstance(value, int | float):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise CellError("invalid_number", f"{label} is not a number") from None
    raw = cells.text(value)
    if raw is None:
        return None
    if not _PLAIN.match(raw):
        raise CellError("invalid_number", f"{label} {raw[:40]!r} is not a number (write e.g. 12.5)")
    return Decimal(raw.replace(",", "."))


def whole_cell(value: Any, label: str, code: str, top: int) -> int | None:
    number = number_cell(value, label)
    if number is None:
        return None
    if number != number.to_integral_value() or not 0 < number <= top:
        raise CellError(code, f"{label} must be a whole number from 1 to {top}")
    return int(number)


def status_cell(value: Any) -> str | None:
    raw = cells.text(value)
    if raw is None:
        return None
    found = STATUS_WORDS.get(raw.lower())
    if found is None:
        raise CellError("invalid_status", f"status {raw[:40]!r} is not active or obsolete")
    return found


@dataclass
class _Row:
    """One file row being checked: its parsed cells and errors."""

    number: int
    raw: list[Any]
    mapping: ColumnMapping
    errors: list[RowError] = field(default_factory=list)
    parsed: dict[str, Any] = field(default_factory=dict)

    def cell(self, name: str) -> Any:
        i = self.mapping.index(name)
        return self.raw[i] if i is not None and i < len(self.raw) else None

    def problem(self, name: str, code: str, message: str) -> None:
        self.errors.append(RowError(row=self.number, field=name, column=self.mapping.header(name), code=code,
                                    message=message))

    def attempt(self, name: str, parse: Callable[[Any], Any]) -> Any:
        try:
            value = parse(self.cell(name))
        except CellError as exc:
            self.problem(name, exc.code, exc.message)
            return None
        self.parsed[name] = value
        return value


def _refuse_errors(invalid: int, total: int, errors: list[RowError]) -> ValidationFailed:
    return ValidationFailed(
        f"{invalid} of {total} rows {'has' if invalid == 1 else 'have'} errors: fix the file, or import the valid "
        "rows with skip_invalid",
        code="import_has_errors", field="content",
        extra={"errors": [e.model_dump(mode="json") for e in errors[:MAX_LISTED_ERRORS]],
               "error_count": len(errors), "invalid_rows": invalid})


def _columns(mapping: ColumnMapping) -> list[ColumnOut]:
    return [ColumnOut(header=h, field=f) for h, f in zip(mapping.headers, mapping.fields, strict=True)]


# -- products -----------------------------------------------------------------------------------


def import_products(conn: Connection, tenant_id: UUID, body: ProductImportIn, max_body_bytes: int) -> ProductImportOut:
    sheet, mapping = _read(body, max_body_bytes, _PRODUCT_LOOKUP, PRODUCT_REQUIRED, (), "Number, Name, Unit, Status")
    numbers = {n for _, c in sheet.rows
               if (i := mapping.index("number")) is not None and i < len(c) and (n := cells.text(c[i]))}
    existing = {r["number"]: r for r in conn.execute(
        select(products).where(products.c.tenant_id == tenant_id, products.c.number.in_(sorted(numbers)))).mappings()}
    first_row: dict[str, int] = {}
    rows: list[ProductImportRow] = []
    errors: list[RowError] = []
    creates: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for number, raw in sheet.rows:
        row = _Row(number, raw, mapping)
        limits = {"number": 60, "name": 200, "unit": 20}
        for name, limit in limits.items():
            row.attempt(name, partial(cells.bounded, label=name, limit=limit))
        row.attempt("status", status_cell)
        p = row.parsed
        for name in PRODUCT_REQUIRED:
            if name in p and p[name] is None:
                row.problem(name, "required", f"{name} is missing")
        action = None
        if p.get("number"):
            if p["number"] in first_row:
                row.problem("number", "duplicate_in_file",
                            f"product {p['number']} is also in row {first_row[p['number']]} (the first one counts)")
            else:
                first_row[p["number"]] = number
        if not row.errors:
            old = existing.get(p["number"])
            values = {"number": p["number"], "name": p["name"],
                      "unit": p.get("unit") or (old["unit"] if old else "pcs"),
                      "status": p.get("status") or (old["status"] if old else "active")}
            if old is None:
                action = "create"
                creates.append(values)
            elif any(old[k] != values[k] for k in ("name", "unit", "status")):
                action = "update"
                updates.append({**values, "b_id": old["id"]})
            else:
                action = "unchanged"
        rows.append(ProductImportRow(row=number, valid=not row.errors, action=action, number=p.get("number"),
                                     name=p.get("name"), unit=p.get("unit"), status=p.get("status")))
        errors.extend(row.errors)
    invalid = sum(1 for r in rows if not r.valid)
    out = ProductImportOut(
        dry_run=body.dry_run, import_id=None, file_name=body.file_name, format=sheet.format,
        delimiter=sheet.delimiter, header_row=sheet.header_row, columns=_columns(mapping), total_rows=len(rows),
        valid_rows=len(rows) - invalid, invalid_rows=invalid, skipped=0, errors=errors[:MAX_LISTED_ERRORS],
        error_count=len(errors), created=0, updated=0, rows=rows, product_numbers=[])
    if body.dry_run:
        return out
    if invalid and not body.skip_invalid:
        raise _refuse_errors(invalid, len(rows), errors)
    if invalid == len(rows):
        raise ValidationFailed("the file has no valid product rows to import", code="nothing_to_import",
                               field="content")
    taken = Conflict("a product number of this file was created meanwhile: preview the file again",
                     code="product_number_taken", field="number")
    with constraint_errors(conn, {"uq_products_tenant_number": taken}):
        if creates:
            conn.execute(insert(products), [{**v, "tenant_id": tenant_id} for v in creates])
        if updates:
            stmt = (update(products).where(products.c.tenant_id == tenant_id, products.c.id == bindparam("b_id"))
                    .values(name=bindparam("b_name"), unit=bindparam("b_unit"), status=bindparam("b_status"),
                            updated_at=func.now()))
            conn.execute(stmt, [{"b_id": u["b_id"], "b_name": u["name"], "b_unit": u["unit"], "b_status": u["status"]}
                                for u in updates])
    return out.model_copy(update={"import_id": uuid.uuid4(), "created": len(creates), "updated": len(updates),
                                  "skipped": invalid, "product_numbers": [v["number"] for v in creates + updates]})


# -- routings -----------------------------------------------------------------------------------


def _codes(conn: Connection, tenant_id: UUID) -> tuple[Codes, Codes, Codes]:
    product_rows = conn.execute(select(products.c.id, products.c.number).where(products.c.tenant_id == tenant_id))
    machine_rows = conn.execute(select(machines.c.id, machines.c.code, machines.c.status)
                                .where(machines.c.tenant_id == tenant_id))
    line_rows = conn.execute(select(lines.c.id, lines.c.code).where(lines.c.tenant_id == tenant_id))
    return (Codes([Code(r.id, r.number) for r in product_rows]),
            Codes([Code(r.id, r.code, active=r.status == "active") for r in machine_rows]),
            Codes([Code(r.id, r.code) for r in line_rows]))


@dataclass
class _Op:
    row: int
    seq: int
    name: str
    setup: Decimal
    resources: list[dict[str, Any]] = field(default_factory=list)
    targets: set[UUID] = field(default_factory=set)


def _check_routing_row(row: _Row, product_codes: Codes, machine_codes: Codes, line_codes: Codes) -> dict[str, Any]:
    """The row's product, operation and resource, resolved; problems go to row.errors."""
    for name, limit in (("product_number", 60), ("operation", 120), ("machine_code", 40), ("line_code", 40)):
        row.attempt(name, partial(cells.bounded, label=name.replace("_", " "), limit=limit))
    row.attempt("seq", lambda v: whole_cell(v, "seq", "invalid_seq", MAX_SEQ))
    row.attempt("parts_per_cycle", lambda v: whole_cell(v, "parts per cycle", "invalid_parts_per_cycle",
                                                        MAX_PARTS_PER_CYCLE))
    for name in ("cycle_seconds", "rate_per_hour", "setup_seconds"):
        row.attempt(name, partial(number_cell, label=name.replace("_", " ")))
    p = row.parsed
    for name in ROUTING_REQUIRED:
        if name in p and p[name] is None:
            row.problem(name, "required", f"{name.replace('_', ' ')} is missing")
    out: dict[str, Any] = {"product": None, "machine": None, "line": None, "cycle": None, "setup": None}
    if p.get("product_number"):
        out["product"] = product_codes.find(p["product_number"])
        if out["product"] is None:
            row.problem("product_number", "unknown_product", f"no product with number {p['product_number']!r}")
    machine_code, line_code = p.get("machine_code"), p.get("line_code")
    if (machine_code is None) == (line_code is None):
        if "machine_code" in p or "line_code" in p:
            row.problem("machine_code" if row.mapping.index("machine_code") is not None else "line_code",
                        "invalid_resource", "give one of a machine code or a line code")
    elif machine_code is not None:
        out["machine"] = machine_codes.find(machine_code)
        if out["machine"] is None:
            row.problem("machine_code", "unknown_machine", f"no machine with code {machine_code!r} in this company")
        elif not out["machine"].active:
            row.problem("machine_code", "machine_retired", f"machine {out['machine'].code} is retired")
    else:
        out["line"] = line_codes.find(str(line_code))
        if out["line"] is None:
            row.problem("line_code", "unknown_line", f"no line with code {line_code!r} in this company")
    parts = p.get("parts_per_cycle") or 1
    if not any(e.field in ("cycle_seconds", "rate_per_hour", "parts_per_cycle") for e in row.errors):
        out["cycle"], why = standard_cycle(p.get("cycle_seconds"), p.get("rate_per_hour"), parts)
        if why:
            name = "rate_per_hour" if p.get("rate_per_hour") is not None else "cycle_seconds"
            if row.mapping.index(name) is None:
                name = "rate_per_hour" if name == "cycle_seconds" else "cycle_seconds"
            row.problem(name, "invalid_cycle_time", why)
    if "setup_seconds" in p:
        out["setup"], why = checked_setup(p.get("setup_seconds") or Decimal(0))
        if why:
            row.problem("setup_seconds", "invalid_setup_time", why)
    out["parts"] = parts
    return out


def import_routings(conn: Connection, tenant_id: UUID, body: ProductImportIn, max_body_bytes: int) -> RoutingImportOut:
    sheet, mapping = _read(body, max_body_bytes, _ROUTING_LOOKUP, ROUTING_REQUIRED, ROUTING_ONE_OF,
                           "Product, Op, Operation, Machine, Cycle (s), Parts per cycle, Setup (s)")
    product_codes, machine_codes, line_codes = _codes(conn, tenant_id)
    routings: dict[UUID, dict[int, _Op]] = {}
    numbers: dict[UUID, str] = {}
    rows_of: dict[UUID, list[int]] = {}
    bad_products: set[UUID] = set()
    rows: list[RoutingImportRow] = []
    errors: list[RowError] = []
    for number, raw in sheet.rows:
        row = _Row(number, raw, mapping)
        got = _check_routing_row(row, product_codes, machine_codes, line_codes)
        p = row.parsed
        product, seq = got["product"], p.get("seq")
        if product is not None and seq is not None and not row.errors:
            ops = routings.setdefault(product.id, {})
            op = ops.get(seq)
            if op is None and len(ops) >= MAX_OPERATIONS:
                row.problem("seq", "too_many_operations", f"a routing has at most {MAX_OPERATIONS} operations")
            elif op is None:
                op = ops[seq] = _Op(number, seq, p["operation"], got["setup"] or Decimal(0))
            elif p["operation"] != op.name:
                row.problem("operation", "operation_mismatch",
                            f"operation {seq} is named {op.name!r} in row {op.row}")
            elif got["setup"] is not None and p.get("setup_seconds") is not None and got["setup"] != op.setup:
                row.problem("setup_seconds", "operation_mismatch",
                            f"operation {seq} has setup {op.setup} s in row {op.row}")
            target = got["machine"] or got["line"]
            if op is not None and not row.errors:
                if target.id in op.targets:
                    name = "machine_code" if got["machine"] else "line_code"
                    row.problem(name, "duplicate_resource", f"{target.code} is already named for operation {seq}")
                else:
                    op.targets.add(target.id)
                    op.resources.append({"machine_id": got["machine"].id if got["machine"] else None,
                                         "line_id": got["line"].id if got["line"] else None,
                                         "cycle_seconds": got["cycle"], "parts_per_cycle": got["parts"]})
        if product is not None:
            numbers[product.id] = product.code
            rows_of.setdefault(product.id, []).append(number)
            if row.errors:
                bad_products.add(product.id)
        rows.append(RoutingImportRow(
            row=number, valid=not row.errors, product_number=product.code if product else p.get("product_number"),
            seq=seq, operation=p.get("operation"),
            machine_code=got["machine"].code if got["machine"] else p.get("machine_code"),
            line_code=got["line"].code if got["line"] else p.get("line_code"),
            cycle_seconds=float(got["cycle"]) if got["cycle"] is not None else None,
            parts_per_cycle=p.get("parts_per_cycle") or (1 if not row.errors else None),
            setup_seconds=float(got["setup"]) if got["setup"] is not None else None))
        errors.extend(row.errors)
    invalid = sum(1 for r in rows if not r.valid)
    good = [pid for pid in routings if pid not in bad_products]
    out = RoutingImportOut(
        dry_run=body.dry_run, import_id=None, file_name=body.file_name, format=sheet.format,
        delimiter=sheet.delimiter, header_row=sheet.header_row, columns=_columns(mapping), total_rows=len(rows),
        valid_rows=len(rows) - invalid, invalid_rows=invalid, skipped=0, errors=errors[:MAX_LISTED_ERRORS],
        error_count=len(errors), routings=len(good), rows=rows, product_numbers=[])
    if body.dry_run:
        return out
    if invalid and not body.skip_invalid:
        raise _refuse_errors(invalid, len(rows), errors)
    if not good:
        raise ValidationFailed("the file has no product whose rows are all valid", code="nothing_to_import",
                               field="content")
    # Lock the products in one order, so that concurrent imports and routing edits wait rather than interleave.
    locked = set(conn.execute(select(products.c.id).where(products.c.tenant_id == tenant_id, products.c.id.in_(good))
                              .order_by(products.c.id).with_for_update()).scalars())
    if locked != set(good):
        raise Conflict("a product of this file was deleted meanwhile: preview the file again",
                       code="product_not_found", field="content")
    for pid in good:
        in_order = sorted(routings[pid].values(), key=lambda o: o.seq)
        store_routing(conn, tenant_id, pid, [{"seq": o.seq, "name": o.name, "setup_seconds": o.setup,
                                              "resources": o.resources} for o in in_order])
    imported_rows = sum(len(rows_of[pid]) for pid in good)
    return out.model_copy(update={"import_id": uuid.uuid4(), "skipped": len(rows) - imported_rows,
                                  "product_numbers": sorted(numbers[pid] for pid in good)})
