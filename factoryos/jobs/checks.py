"""Rows of an import file → jobs ready to insert, and every problem per row and field.

Checks against the company's data: machine and site codes exist (exact, else the one
case-insensitive match), the machine is active and at the given site, and the job
number is new. Within the file, the first row with a number wins; later ones are errors.
A product that is a product's number links the job to it, and the job gets the operations
of its routing (else one operation any machine runs): the caller passes the routing reader
(`operations_for`, the orders package's), which depends on this package and not the reverse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.errors import FactoryOSError
from factoryos.jobs import cells
from factoryos.jobs.cells import CellError, DayOrder, QuantityStyle
from factoryos.jobs.columns import ColumnMapping
from factoryos.jobs.models import ImportRow, RowError
from factoryos.jobs.reader import Sheet
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import products
from factoryos.schema.plant import machines, sites

# (conn, tenant_id, product_id, quantity, machine_id) -> the new job's operations
OperationsFor = Callable[[Connection, UUID, UUID | None, int, UUID | None], list[dict[str, Any]]]

LIMITS = {"job_number": 60, "product": 200, "customer": 200, "site_code": 40, "machine_code": 40, "notes": 2000}
LABELS = {"job_number": "job number", "product": "product", "customer": "customer", "site_code": "site code",
          "machine_code": "machine code", "notes": "notes"}


@dataclass
class Checked:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)  # insertable, valid rows only
    operations: list[list[dict[str, Any]]] = field(default_factory=list)  # each value's, from its routing

    @property
    def products_linked(self) -> int:
        return sum(1 for v in self.values if v["product_id"] is not None)

    @property
    def invalid_rows(self) -> int:
        return sum(1 for r in self.rows if not r.valid)


@dataclass(frozen=True)
class Code:
    id: UUID
    code: str
    site_id: UUID | None = None
    active: bool = True


class Codes:
    """A company's site or machine codes: exact match first, else a unique case-insensitive one."""

    def __init__(self, items: list[Code]) -> None:
        self.exact = {c.code: c for c in items}
        folded = Counter(c.code.casefold() for c in items)
        self.folded = {c.code.casefold(): c for c in items if folded[c.code.casefold()] == 1}

    def find(self, code: str) -> Code | None:
        return self.exact.get(code) or self.folded.get(code.casefold())


def _codes(conn: Connection, tenant_id: UUID) -> tuple[Codes, Codes]:
    site_rows = conn.execute(select(sites.c.id, sites.c.code).where(sites.c.tenant_id == tenant_id)).all()
    machine_rows = conn.execute(
        select(machines.c.id, machines.c.code, machines.c.site_id, machines.c.status)
        .where(machines.c.tenant_id == tenant_id)
    ).all()
    return (Codes([Code(r.id, r.code) for r in site_rows]),
            Codes([Code(r.id, r.code, r.site_id, r.status == "active") for r in machine_rows]))


def _existing(conn: Connection, tenant_id: UUID, numbers: set[str]) -> set[str]:
    if not numbers:
        return set()
    stmt = select(jobs.c.job_number).where(jobs.c.tenant_id == tenant_id, jobs.c.job_number.in_(sorted(numbers)))
    return set(conn.execute(stmt).scalars())


def _products(conn: Connection, tenant_id: UUID, numbers: set[str]) -> dict[str, Any]:
    if not numbers:
        return {}
    stmt = select(products.c.id, products.c.number, products.c.status).where(
        products.c.tenant_id == tenant_id, products.c.number.in_(sorted(numbers)))
    return {r.number: r for r in conn.execute(stmt)}


class Routings:
    """Operations per (product, machine), read once per file: a routing is the same for every row."""

    def __init__(self, conn: Connection, tenant_id: UUID, operations_for: OperationsFor) -> None:
        self.conn, self.tenant_id, self.operations_for = conn, tenant_id, operations_for
        self.cache: dict[tuple[UUID | None, UUID | None], list[dict[str, Any]] | FactoryOSError] = {}

    def operations(self, product_id: UUID | None, machine_id: UUID | None, quantity: int) -> list[dict[str, Any]]:
        key = (product_id, machine_id)
        if key not in self.cache:
            try:
                self.cache[key] = self.operations_for(self.conn, self.tenant_id, product_id, 1, machine_id)
            except FactoryOSError as exc:
                self.cache[key] = exc
        found = self.cache[key]
        if isinstance(found, FactoryOSError):
            raise found
        return [{**op, "quantity": quantity} for op in found]


def _hint(values: list[Any], guess: Callable[[str], Any]) -> Any:
    """One reading for the whole column, if its unambiguous cells agree on one."""
    seen = {guess(v) for v in values if isinstance(v, str)} - {None}
    return seen.pop() if len(seen) == 1 else None


def check_rows(conn: Connection, tenant_id: UUID, sheet: Sheet, mapping: ColumnMapping,
               operations_for: OperationsFor) -> Checked:
    def cell(cells_: list[Any], name: str) -> Any:
        i = mapping.index(name)
        return cells_[i] if i is not None and i < len(cells_) else None

    site_codes, machine_codes = _codes(conn, tenant_id)
    order: DayOrder | None = _hint([cell(c, "due_date") for _, c in sheet.rows], cells.slash_order_hint)
    style: QuantityStyle | None = _hint([cell(c, "quantity") for _, c in sheet.rows], cells.quantity_hint)
    numbers = {n for _, c in sheet.rows if (n := cells.text(cell(c, "job_number"))) and len(n) <= LIMITS["job_number"]}
    taken = _existing(conn, tenant_id, numbers)
    known = _products(conn, tenant_id, {t for _, c in sheet.rows if (t := cells.text(cell(c, "product")))})
    routings = Routings(conn, tenant_id, operations_for)
    first_row: dict[str, int] = {}
    out = Checked()

    for number, raw in sheet.rows:
        errors: list[RowError] = []
        parsed: dict[str, Any] = {}

        def attempt(name: str, parse: Callable[[Any], Any], _raw: list[Any] = raw,
                    _errors: list[RowError] = errors, _number: int = number) -> Any:
            try:
                value = parse(cell(_raw, name))
            except CellError as exc:
                _errors.append(RowError(row=_number, field=name, column=mapping.header(name), code=exc.code,
                                        message=exc.message))
                return None
            parsed[name] = value
            return value

        for name in LIMITS:
            attempt(name, lambda v, n=name: cells.bounded(v, LABELS[n], LIMITS[n]))
        attempt("quantity", lambda v: cells.quantity(v, style))
        attempt("due_date", lambda v: cells.due_date(v, order))
        attempt("status", cells.status)

        def problem(name: str, code: str, message: str, _errors: list[RowError] = errors,
                    _number: int = number) -> None:
            _errors.append(RowError(row=_number, field=name, column=mapping.header(name), code=code, message=message))

        job_number, product = parsed.get("job_number"), parsed.get("product")
        if "job_number" in parsed and job_number is None:
            problem("job_number", "required", "job number is missing")
        if "product" in parsed and product is None:
            problem("product", "required", "product is missing")
        if job_number is not None:
            if job_number in first_row:
                problem("job_number", "duplicate_in_file",
                        f"job number {job_number} is also in row {first_row[job_number]} (the first one counts)")
            else:
                first_row[job_number] = number
                if job_number in taken:
                    problem("job_number", "job_exists", f"job {job_number} already exists")

        site = machine = None
        if parsed.get("site_code"):
            site = site_codes.find(parsed["site_code"])
            if site is None:
                problem("site_code", "unknown_site", f"no site with code {parsed['site_code']!r} in this company")
        if parsed.get("machine_code"):
            machine = machine_codes.find(parsed["machine_code"])
            if machine is None:
                problem("machine_code", "unknown_machine",
                        f"no machine with code {parsed['machine_code']!r} in this company")
            elif not machine.active:
                problem("machine_code", "machine_retired", f"machine {machine.code} is retired")
            elif site is not None and machine.site_id != site.id:
                problem("machine_code", "machine_other_site", f"machine {machine.code} is not at site {site.code}")

        linked = known.get(product) if product is not None else None
        if linked is not None and linked.status != "active" and parsed.get("status") in ("planned", "released"):
            problem("product", "product_obsolete", f"product {linked.number} is {linked.status}: no new orders for it")
        operations: list[dict[str, Any]] = []
        if not errors:
            try:
                operations = routings.operations(linked.id if linked else None, machine.id if machine else None,
                                                 parsed["quantity"])
            except FactoryOSError as exc:
                problem("product", exc.code, exc.detail)

        out.rows.append(ImportRow(
            row=number, valid=not errors, job_number=job_number, product=product,
            quantity=parsed.get("quantity"), due_date=parsed.get("due_date"), customer=parsed.get("customer"),
            site_code=site.code if site else parsed.get("site_code"),
            machine_code=machine.code if machine else parsed.get("machine_code"),
            status=parsed.get("status"), notes=parsed.get("notes"),
        ))
        out.errors.extend(errors)
        if not errors:
            out.values.append({
                "job_number": job_number, "product": product, "quantity": parsed["quantity"],
                "due_date": parsed["due_date"], "customer": parsed.get("customer"),
                "site_id": site.id if site else (machine.site_id if machine else None),
                "machine_id": machine.id if machine else None, "status": parsed["status"],
                "notes": parsed.get("notes"), "product_id": linked.id if linked else None,
            })
            out.operations.append(operations)
    return out
