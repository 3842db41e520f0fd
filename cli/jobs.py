"""`factoryos jobs …`: manufacturing orders on the signed-in server: list, show, import, export.

Over the API only (see `factoryos login`). `export` writes the ERP confirmations after a cursor
and prints the cursor to pass next time: reading from the same cursor gives the same rows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from cli.output import console, err_console, fail, ok
from cli.session import NotSignedIn, signed_in_client
from factoryos.client import ClientError, FactoryClient
from factoryos.jobs.models import JobImportOut
from factoryos.orders.order_models import ConfirmationOut, OrderOut

app = typer.Typer(help="Manufacturing orders (jobs) on the server you signed in to: list, show, import, export.",
                  no_args_is_help=True)

T = TypeVar("T")
STATUSES = ("planned", "released", "running", "paused", "completed", "cancelled")
SHOWN_ERRORS = 20
PAGE = 500
EXPORT_COLUMNS = ("cursor", "order", "operation_seq", "operation", "machine", "good", "scrap", "started_at",
                  "ended_at", "operator", "operator_email", "final")

Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")]


def _call(work: Callable[[FactoryClient], Awaitable[T]]) -> T:
    """Run `work` with the signed-in client; a user error is one red line and exit 1."""
    async def run() -> T:
        async with signed_in_client() as (client, _):
            return await work(client)

    try:
        return asyncio.run(run())
    except NotSignedIn as exc:
        fail(escape(str(exc)))
    except ClientError as exc:
        fail(escape(exc.detail))


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(
        "--status", help="Only this status: " + ", ".join(STATUSES) + ".")] = None,
    q: Annotated[str | None, typer.Option("--q", help="Search number, product and customer.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=5000, help="At most this many orders.")] = 100,
    as_json: Json = False,
) -> None:
    """Orders by due date, the earliest first."""
    if status is not None and status.strip().lower() not in STATUSES:
        fail(f"--status: {escape(repr(status))} is not one of {', '.join(STATUSES)}")

    async def fetch(client: FactoryClient) -> list[Any]:
        items: list[Any] = []
        cursor = None
        while len(items) < limit:
            page = await client.orders(status=status.strip().lower() if status else None, q=q, cursor=cursor,
                                       limit=min(PAGE, limit - len(items)))
            items += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        return items

    items = _call(fetch)
    if as_json:
        console.print_json(json.dumps([i.model_dump(mode="json") for i in items]))
        return
    if not items:
        console.print("No orders.")
        return
    table = Table(box=box.SIMPLE)
    for column in ("number", "product", "qty", "due", "status", "machine", "customer"):
        table.add_column(column, no_wrap=column in ("number", "due", "status"),
                         justify="right" if column == "qty" else "left")
    for i in items:
        table.add_row(escape(i.job_number), escape(i.product_name or i.product), f"{i.quantity:,}",
                      i.due_date.isoformat(), i.status, escape(i.machine_code or ""), escape(i.customer or ""))
    console.print(table)
    console.print(f"{len(items)} orders", highlight=False)


@app.command("show")
def show_job(
    number: Annotated[str, typer.Argument(help="The order number, e.g. MO-1001.")],
    as_json: Json = False,
) -> None:
    """One order with its operations: where each runs and what it produced."""
    if not number.strip():
        fail("give the order number, e.g. MO-1001")
    order: OrderOut = _call(lambda client: client.order_by_number(number))
    if as_json:
        console.print_json(order.model_dump_json())
        return
    product = order.product if order.product_number is None else f"{order.product_number} {order.product_name or ''}"
    status = escape(f"[{order.status}]")
    console.print(f"[bold]Order {escape(order.job_number)}[/]  {escape(product.strip())}  {status}", highlight=False)
    facts = [f"quantity {order.quantity:,}", f"due {order.due_date.isoformat()}", f"good {order.good:,}",
             f"scrap {order.scrap:,}"]
    if order.customer:
        facts.append(f"customer {escape(order.customer)}")
    if order.machine_code:
        facts.append(f"machine {escape(order.machine_code)}")
    console.print("  ".join(facts), highlight=False)
    if order.notes:
        console.print(f"notes: {escape(order.notes)}", highlight=False)
    table = Table(box=box.SIMPLE)
    for column in ("seq", "operation", "machine", "status", "good", "scrap", "may run on"):
        table.add_column(column, justify="right" if column in ("seq", "good", "scrap") else "left")
    for op in order.operations:
        allowed = ", ".join(f"{a.machine_code or a.machine_id} {a.cycle_seconds}s"
                            + (f"/{a.parts_per_cycle}" if a.parts_per_cycle != 1 else "") for a in op.allowed)
        table.add_row(str(op.seq), escape(op.name), escape(op.machine_code or ""), op.status,
                      f"{op.good:,}/{op.quantity:,}", f"{op.scrap:,}", escape(allowed or "any machine"))
    console.print(table)


def _preview_lines(out: JobImportOut) -> None:
    console.print(f"{escape(out.file_name)}: {out.total_rows} rows, {out.valid_rows} valid, {out.invalid_rows} with "
                  f"errors; {out.products_linked} linked to a product's routing", highlight=False)
    for e in out.errors[:SHOWN_ERRORS]:
        column = f" ({escape(e.column)})" if e.column else ""
        err_console.print(f"  row {e.row}, {e.field}{column}: {escape(e.message)}", highlight=False)
    if out.error_count > SHOWN_ERRORS:
        err_console.print(f"  … and {out.error_count - SHOWN_ERRORS} more", highlight=False)


@app.command("import")
def import_jobs(
    file: Annotated[Path, typer.Argument(
        help="A CSV or XLSX file of jobs (job number, product, quantity, due date…).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Import after the preview without asking.")] = False,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Import the valid rows, leave the others.")] = False,
    as_json: Json = False,
) -> None:
    """Check the file (preview), then import its jobs; all or nothing unless --skip-invalid."""

    async def preview(client: FactoryClient) -> tuple[str, bytes, JobImportOut]:
        name, data = await client.load_job_file(file)
        with err_console.status("checking the file…"):
            return name, data, await client.import_jobs(data, name, dry_run=True)

    name, data, out = _call(preview)
    if not as_json:
        _preview_lines(out)
    if out.invalid_rows and not skip_invalid:
        fail(f"{out.invalid_rows} of {out.total_rows} rows have errors: fix the file, or pass --skip-invalid "
             "to import the valid rows")
    if not out.valid_rows:
        fail("the file has no valid job rows to import")
    if not yes and not typer.confirm(f"Import {out.valid_rows} jobs?", default=False):
        fail("import cancelled: nothing was imported")
    key = f"jobs-import-{uuid.uuid4()}"  # a retry after a lost answer does not import twice

    async def commit(client: FactoryClient) -> JobImportOut:
        with err_console.status("importing…"):
            return await client.import_jobs(data, name, dry_run=False, skip_invalid=skip_invalid,
                                            idempotency_key=key)

    done = _call(commit)
    if as_json:
        console.print_json(done.model_dump_json())
        return
    skipped = f", {done.skipped} rows with errors left out" if done.skipped else ""
    ok(f"Imported {done.imported} jobs{skipped} (import {done.import_id})")


def _csv_row(c: ConfirmationOut) -> list[Any]:
    return [c.id, c.order_number, c.operation_seq, c.operation_name, c.machine_code or c.machine_id, c.good, c.scrap,
            c.started_at.isoformat(), c.ended_at.isoformat(), c.operator_name or "", c.operator_email or "",
            "yes" if c.final else "no"]


def _write_atomically(path: Path, text: str) -> None:
    """The ERP may pick the file up at any moment: it appears whole or not at all."""
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


@app.command("export")
def export_confirmations(
    output: Annotated[Path, typer.Option("--output", "-o", help="The CSV file to write, e.g. confirmations.csv.")],
    since: Annotated[str | None, typer.Option(
        "--since", help="The cursor the last export printed; none: every confirmation so far.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the file if it exists.")] = False,
    as_json: Json = False,
) -> None:
    """Write what each ended run produced (order, operation, machine, good, scrap, times, operator) for the ERP."""
    if output.exists() and not overwrite:
        fail(f"{escape(str(output))} already exists: give --overwrite to replace it, or another --output")
    if not output.parent.is_dir():
        fail(f"--output: the folder {escape(str(output.parent))} does not exist")

    async def fetch(client: FactoryClient) -> tuple[list[ConfirmationOut], str]:
        rows: list[ConfirmationOut] = []
        cursor = since.strip() if since else None
        while True:
            page = await client.confirmations(since=cursor, limit=PAGE)
            rows += page.items
            cursor = page.next_cursor
            if len(page.items) < PAGE:
                return rows, cursor

    rows, cursor = _call(fetch)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(_csv_row(c) for c in rows)
    try:
        _write_atomically(output, buffer.getvalue())
    except OSError as exc:
        fail(f"cannot write {escape(str(output))}: {escape(exc.strerror or str(exc))}")
    if as_json:
        console.print_json(data={"path": str(output.resolve()), "rows": len(rows), "next_cursor": cursor})
        return
    ok(f"Wrote {len(rows)} confirmations to {escape(str(output))}")
    console.print(f"Next time: --since {cursor}", highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="jobs")
