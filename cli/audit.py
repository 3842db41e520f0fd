"""`factoryos audit …`: verify the hash chain, export, report retention (server host)."""

from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from factoryos.audit import export as audit_export
from factoryos.audit import query, retention
from factoryos.audit.companies import resolve
from factoryos.audit.verify import verify_chain
from factoryos.config import Settings
from factoryos.db.engine import admin_engine
from cli.output import console, err_console, fail, ok

app = typer.Typer(help="Audit trail: verify, export, retention (run on the server host).", no_args_is_help=True)

CompanyOpt = Annotated[str | None, typer.Option("--company", help="Company id or exact name (default: all).")]


@app.command("verify")
def verify(company: CompanyOpt = None) -> None:
    """Recompute each company's hash chain; exit 1 naming the first broken row."""
    broken = 0
    with admin_engine(Settings()) as engine, engine.connect() as conn:
        for tenant_id, name in resolve(conn, company):
            report = verify_chain(conn, tenant_id)
            if report.ok:
                ok(f"{name}: OK, {report.rows} rows")
            else:
                broken += 1
                row = f"row seq {report.broken_seq}" + (f" (id {report.broken_id})" if report.broken_id else "")
                err_console.print(f"[bold red]✗[/] [red]{name}: chain broken at {row}: {report.reason}[/]", highlight=False)
    if broken:
        raise typer.Exit(1)


def _parse_day(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 timestamp")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@app.command("export")
def export(
    since: Annotated[str | None, typer.Option("--from", help="Start (inclusive), YYYY-MM-DD or ISO 8601; UTC if no offset.")] = None,
    until: Annotated[str | None, typer.Option("--to", help="End (exclusive), YYYY-MM-DD or ISO 8601.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    company: CompanyOpt = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")] = None,
) -> None:
    """Export audit rows oldest first."""
    if fmt not in ("csv", "jsonl"):
        fail(f"--format must be csv or jsonl, not {fmt!r}")
    f = query.AuditFilter(since=_parse_day(since, "--from"), until=_parse_day(until, "--to"))
    if f.since and f.until and f.since >= f.until:
        fail("--from must be before --to")
    out = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    total = 0
    try:
        with admin_engine(Settings()) as engine, engine.connect() as conn:
            for tenant_id, _name in resolve(conn, company):
                total += audit_export.write(query.stream(conn, tenant_id, f), out, fmt)
    finally:
        if output:
            out.close()
    if output:
        ok(f"{total} rows written to {output}")


@app.command("retention")
def retention_report() -> None:
    """Show audit partitions and which are past the 7-year retention (nothing is deleted)."""
    with admin_engine(Settings()) as engine, engine.connect() as conn:
        parts = retention.report(conn, date.today())
    table = Table("partition", "month", "rows", "past retention")
    for p in parts:
        table.add_row(p.name, p.month.isoformat() if p.month else "default", str(p.rows), "yes" if p.past_retention else "")
    console.print(table)
    console.print(f"Rows are kept at least {retention.RETENTION_YEARS} years; FactoryOS never deletes audit rows.")
