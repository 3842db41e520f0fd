"""`factoryos audit …`: verify the hash chain, export, report retention (server host)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from factoryos.audit import export as audit_export
from factoryos.audit.anchoring import Anchorer
from factoryos.audit.anchors import (
    ANCHOR_FILE,
    KEY_FILE,
    Anchor,
    AnchorError,
    AnchorLog,
    SigningKey,
    key_id,
    public_key_text,
)
from factoryos.audit import query, retention
from factoryos.audit.companies import resolve
from factoryos.audit.verify import verify_anchors, verify_chain
from factoryos.config import Settings
from factoryos.db.engine import admin_engine
from cli.output import console, err_console, fail, ok

app = typer.Typer(help="Audit trail: verify, export, retention (run on the server host).", no_args_is_help=True)

CompanyOpt = Annotated[str | None, typer.Option("--company", help="Company id or exact name (default: all).")]


AnchorsOpt = Annotated[Path | None, typer.Option(
    "--anchors", help="Verify against this exported anchor file (default: the data directory's own).")]


def _anchors(settings: Settings, path: Path | None) -> tuple[Ed25519PublicKey | None, list[Anchor], Path]:
    source = path or settings.data_dir / ANCHOR_FILE
    if path is not None and not path.exists():
        fail(f"--anchors: {path} does not exist")
    try:
        public, anchors = AnchorLog(source).read()
    except (AnchorError, OSError) as exc:
        fail(f"cannot read the anchors: {exc}")
    own = settings.data_dir / KEY_FILE
    if public is not None and path is None and own.exists():
        # The installation's own file must name the installation's own key.
        if key_id(SigningKey.load(own).public) != key_id(public):
            fail(f"{source} names key {key_id(public)}, not this installation's audit key")
    return public, anchors, source


@app.command("verify")
def verify(company: CompanyOpt = None, anchors_file: AnchorsOpt = None) -> None:
    """Recompute each company's hash chain and check it against the signed anchors; exit 1 naming
    the first broken row."""
    settings = Settings()
    public, anchors, source = _anchors(settings, anchors_file)
    if public is None:
        console.print(f"[yellow]No signed anchors in {source}: checking the hashes only.[/]", highlight=False)
    else:
        console.print(f"Signed anchors: {len(anchors)} in {source}, key {key_id(public)}", highlight=False)
    broken = 0
    with admin_engine(settings) as engine, engine.connect() as conn:
        for tenant_id, name in resolve(conn, company):
            report = verify_chain(conn, tenant_id)
            if report.ok and public is not None:
                report = verify_anchors(conn, tenant_id, anchors, public, report.rows) or report
            if report.ok:
                ok(f"{name}: OK, {report.rows} rows")
            else:
                broken += 1
                row = f"row seq {report.broken_seq}" + (f" (id {report.broken_id})" if report.broken_id else "")
                err_console.print(f"[bold red]✗[/] [red]{name}: chain broken at {row}: {report.reason}[/]", highlight=False)
    if broken:
        raise typer.Exit(1)


anchors_app = typer.Typer(help="Signed audit anchors: sign now, export for safekeeping.", no_args_is_help=True)
app.add_typer(anchors_app, name="anchors")


@anchors_app.command("sign")
def anchors_sign() -> None:
    """Sign every company's chain head that moved since its last anchor (the server does it every minute)."""
    settings = Settings()
    with admin_engine(settings) as engine:
        signed = Anchorer(engine, settings.data_dir).anchor_now()
    ok(f"{signed} chain heads signed into {settings.data_dir / ANCHOR_FILE}")


@anchors_app.command("export")
def anchors_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (keep it on another machine).")],
) -> None:
    """Copy the anchor file, with the public key it is signed with, for `audit verify --anchors`."""
    settings = Settings()
    public, anchors, source = _anchors(settings, None)
    if public is None:
        fail(f"no signed anchors yet in {source}")
    valid = [a for a in anchors if a.valid_under(public)]
    if len(valid) != len(anchors):
        fail(f"{len(anchors) - len(valid)} anchors in {source} carry no valid signature: it was altered")
    with output.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"public_key": public_key_text(public), "key_id": key_id(public)}) + "\n")
        fh.writelines(a.to_json() + "\n" for a in anchors)
    ok(f"{len(anchors)} anchors written to {output} (key {key_id(public)})")


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
