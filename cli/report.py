"""`factoryos report …`: download PDF, Excel or JSON reports from the signed-in server.

Over the API only (see `factoryos login`). Register with `app.add_typer(report.app, name="report")`.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TransferSpeedColumn

from cli.output import console, err_console, fail, ok
from cli.session import NotSignedIn, signed_in_client
from factoryos.client import ClientError, FactoryClient
from factoryos.client.api_reports import Download, ReportRequest, download_order_report, download_report

app = typer.Typer(help="Download production reports (PDF, Excel, JSON) from the server you signed in to.",
                  no_args_is_help=True)


class Format(StrEnum):
    pdf = "pdf"
    xlsx = "xlsx"
    json = "json"


Site = Annotated[str, typer.Option("--site", help="Site code, name or id.")]
Line = Annotated[str | None, typer.Option("--line", help="Only this line of the site (code, name or id).")]
Day = Annotated[str | None, typer.Option("--date", help="The shifts starting on this local date, YYYY-MM-DD.")]
Shift = Annotated[str | None, typer.Option("--shift", help="With --date: one shift by name, e.g. Night.")]
From = Annotated[str | None, typer.Option("--from", help="Range start: 2026-11-01 or 2026-11-01T06:00 (site time).")]
To = Annotated[str | None, typer.Option("--to", help="Range end: a date includes that whole day.")]
Fmt = Annotated[Format, typer.Option("--format", "-f", help="pdf, xlsx or json.")]
Output = Annotated[Path | None, typer.Option(
    "--output", "-o", help="File (or folder) to write; default: the server's file name in this folder.")]
Print = Annotated[bool, typer.Option("--print", help="Send the PDF to the default printer (CUPS `lp`).")]
NoRaw = Annotated[bool, typer.Option("--no-raw", help="Leave the raw entries out of Excel and JSON files.")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace a file of the same name (default: refuse).")]


def _check_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option}: {escape(repr(value))} is not a date; use YYYY-MM-DD, e.g. 2026-11-20")


def _check_instant(value: str, option: str) -> str:
    text = value.strip()
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: {escape(repr(value))} is not a date or date-time; use e.g. 2026-11-20 or 2026-11-20T06:00")
    return text


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _pick(kind: str, ref: str, items: list[Any]) -> Any:
    wanted = ref.strip().casefold()
    for attr in ("code", "name"):
        found = [i for i in items if str(getattr(i, attr)).casefold() == wanted]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            fail(f"more than one {kind} is called {escape(ref)!r}: give its code or id")
    known = ", ".join(sorted(str(i.code) for i in items)[:20]) or "none"
    fail(f"no {kind} {escape(ref)!r} (known: {escape(known)})")


async def _scope(client: FactoryClient, site: str, line: str | None) -> tuple[UUID | None, UUID | None]:
    site_id = _as_uuid(site) or _pick("site", site, await client.sites()).id
    if line is None:
        return site_id, None
    line_id = _as_uuid(line) or _pick("line", line, await client.lines(site_id=site_id)).id
    return site_id, line_id


class FileExists(Exception):
    """The report's file name is taken and --overwrite was not given."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def _destination(output: Path | None, topic: str, fmt: Format, overwrite: bool) -> Callable[[str | None], Path]:
    def choose(suggested: str | None) -> Path:
        name = suggested or f"{topic}-report.{fmt.value}"
        if output is None:
            path = Path.cwd() / name
        else:
            path = output / name if output.is_dir() else output
        if path.exists() and not overwrite:
            raise FileExists(path)  # checked before anything is written
        return path

    return choose


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError


def _bar() -> Progress:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn())
    return Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal)


async def _fetch_order(number: str, fmt: Format, output: Path | None, overwrite: bool) -> Download:
    async with signed_in_client() as (client, _):
        with _bar() as bar:
            task = bar.add_task(f"Generating the report of order {escape(number)}…", total=None)

            def started(total: int | None) -> None:
                bar.update(task, description="Downloading", total=total)

            def received(done: int, total: int | None) -> None:
                bar.update(task, completed=done)

            return await download_order_report(client, number, fmt.value,
                                               _destination(output, "order", fmt, overwrite),
                                               on_start=started, progress=received)


async def _fetch(request: ReportRequest, site: str, line: str | None, output: Path | None,
                 overwrite: bool) -> Download:
    async with signed_in_client() as (client, _):
        site_id, line_id = await _scope(client, site, line)
        request = replace(request, site_id=site_id, line_id=line_id)
        with _bar() as bar:
            task = bar.add_task(f"Generating the {request.topic} report…", total=None)

            def started(total: int | None) -> None:
                bar.update(task, description="Downloading", total=total)

            def received(done: int, total: int | None) -> None:
                bar.update(task, completed=done)

            return await download_report(client, request,
                                         _destination(output, request.topic, Format(request.format), overwrite),
                                         on_start=started, progress=received)


class PrintFailed(Exception):
    """`lp` is missing or refused the job; the report file is kept."""


def _send_to_printer(path: Path) -> str:
    lp = shutil.which("lp")
    if lp is None:
        raise PrintFailed("this computer has no CUPS `lp` command (install cups-client)")
    try:
        done = subprocess.run([lp, "-t", path.name, str(path.resolve())], capture_output=True, text=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PrintFailed(str(exc)) from None
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise PrintFailed(reason[0] if reason else f"lp exited with {done.returncode}")
    return done.stdout.strip()


def _run(topic: str, *, site: str, line: str | None, fmt: Format, output: Path | None, print_: bool,
         raw: bool, as_json: bool, day: str | None = None, shift: str | None = None, start: str | None = None,
         end: str | None = None, overwrite: bool = False) -> None:
    if print_ and fmt is not Format.pdf:
        fail("--print needs --format pdf")
    if shift is not None and day is None:
        fail("--shift needs --date (the local date the shift starts on)")
    if day is not None and (start or end):
        fail("give either --from and --to, or --date")
    if day is None and not (start and end):
        fail("give --from and --to, or --date (with --shift for one shift)")
    if output is not None and not output.is_dir() and not output.parent.is_dir():
        fail(f"--output: the folder {escape(str(output.parent))} does not exist")
    request = ReportRequest(
        topic=topic, format=fmt.value, day=_check_date(day, "--date") if day else None, shift=shift,
        start=_check_instant(start, "--from") if start else None, end=_check_instant(end, "--to") if end else None,
        raw=raw,
    )
    _deliver(lambda: asyncio.run(_fetch(request, site, line, output, overwrite)), print_=print_, as_json=as_json)


def _deliver(fetch: Callable[[], Download], *, print_: bool, as_json: bool) -> None:
    """Download (`fetch`), say where the file is, and print it when asked."""
    try:
        done = fetch()
    except FileExists as exc:
        fail(f"{escape(str(exc.path))} already exists: give --overwrite to replace it, or another --output")
    except NotSignedIn as exc:
        fail(escape(str(exc)))
    except ClientError as exc:
        fail(escape(exc.detail))
    except OSError as exc:
        fail(f"cannot write the report: {escape(str(exc))}")
    # Saved is said first: the file is there whatever the printer does next.
    if not as_json:
        ok(f"Saved {escape(str(done.path.resolve()))} ({_size(done.size)})")
    printed: str | None = None
    print_error: str | None = None
    if print_:
        try:
            printed = _send_to_printer(done.path)
        except PrintFailed as exc:
            print_error = str(exc)
    if as_json:
        result: dict[str, Any] = {"path": str(done.path.resolve()), "bytes": done.size,
                                  "media_type": done.media_type, "printed": printed is not None}
        if print_error is not None:
            result["print_error"] = print_error
        console.print_json(data=result)
    elif printed is not None:
        ok(f"Sent to the default printer{': ' + escape(printed) if printed else ''}")
    if print_error is not None:
        fail(f"not printed: {escape(print_error)}; the report is saved at {escape(str(done.path.resolve()))}")


@app.command("shift")
def shift_report(
    site: Site,
    day: Annotated[str, typer.Option("--date", help="The local date the shift starts on, YYYY-MM-DD.")],
    shift: Annotated[str, typer.Option("--shift", help="The shift's name, e.g. Night.")],
    line: Line = None,
    fmt: Fmt = Format.pdf,
    output: Output = None,
    print_: Print = False,
    no_raw: NoRaw = False,
    as_json: Json = False,
    overwrite: Overwrite = False,
) -> None:
    """One shift: KPIs, every machine with its operator, OEE, downtime and rejections."""
    _run("shifts", site=site, line=line, fmt=fmt, output=output, print_=print_, raw=not no_raw, as_json=as_json,
         day=day, shift=shift, overwrite=overwrite)


@app.command("order")
def order_report(
    number: Annotated[str, typer.Argument(help="The order number, e.g. MO-1001.")],
    fmt: Fmt = Format.pdf,
    output: Output = None,
    print_: Print = False,
    as_json: Json = False,
    overwrite: Overwrite = False,
) -> None:
    """One manufacturing order: operations, runs, setup, good, scrap and OEE at the product's standard."""
    if print_ and fmt is not Format.pdf:
        fail("--print needs --format pdf")
    if not number.strip():
        fail("give the order number, e.g. MO-1001")
    if output is not None and not output.is_dir() and not output.parent.is_dir():
        fail(f"--output: the folder {escape(str(output.parent))} does not exist")
    _deliver(lambda: asyncio.run(_fetch_order(number.strip(), fmt, output, overwrite)), print_=print_,
             as_json=as_json)


@app.command("trace")
def trace_report(
    lot: Annotated[str, typer.Option("--lot", help="The lot's number (or id), e.g. S-100.")],
    forward: Annotated[bool, typer.Option("--forward", help="Where the lot went (default: what went into it).")] = False,
    fmt: Fmt = Format.pdf,
    output: Output = None,
    print_: Print = False,
    as_json: Json = False,
    overwrite: Overwrite = False,
) -> None:
    """One lot's genealogy: every input lot with suppliers, orders, machines and operators (or, forward, every lot made from it)."""
    from factoryos.client.api_materials import download_trace_report

    if print_ and fmt is not Format.pdf:
        fail("--print needs --format pdf")
    if not lot.strip():
        fail("give the lot number, e.g. --lot S-100")
    if output is not None and not output.is_dir() and not output.parent.is_dir():
        fail(f"--output: the folder {escape(str(output.parent))} does not exist")
    direction = "forward" if forward else "backward"

    async def fetch() -> Download:
        async with signed_in_client() as (client, _):
            with _bar() as bar:
                bar.add_task(f"Tracing lot {escape(lot.strip())} {direction}…", total=None)
                return await download_trace_report(client, lot.strip(), direction, fmt.value,
                                                   _destination(output, "trace", fmt, overwrite))

    _deliver(lambda: asyncio.run(fetch()), print_=print_, as_json=as_json)


def _period_file(name: str, start: str, end: str, fmt: Format, output: Path | None, print_: bool,
                 overwrite: bool) -> tuple[date, date, Callable[[str | None], Path]]:
    """A module report over whole days: the options checked in the order the user reads them
    (one red line for the first wrong one), and where the file goes."""
    if print_ and fmt is not Format.pdf:
        fail("--print needs --format pdf")
    first, last = _check_date(start, "--from"), _check_date(end, "--to")
    if last < first:
        fail("--to is before --from")
    if output is not None and not output.is_dir() and not output.parent.is_dir():
        fail(f"--output: the folder {escape(str(output.parent))} does not exist")
    return first, last, _destination(output, name, fmt, overwrite)


@app.command("quality")
def quality_report(
    product: Annotated[str, typer.Option("--product", help="The product's number, e.g. P-100.")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (site time).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (included).")],
    fmt: Fmt = Format.pdf,
    output: Output = None,
    print_: Print = False,
    as_json: Json = False,
    overwrite: Overwrite = False,
) -> None:
    """One product: inspections, out-of-spec rate, control charts, Cp/Cpk, rejects by reason and machine."""
    from cli.report_quality import fetch_quality

    first, last, dest = _period_file("quality", start, end, fmt, output, print_, overwrite)
    _deliver(lambda: asyncio.run(fetch_quality(product.strip(), first, last, fmt.value, dest, _bar)), print_=print_,
             as_json=as_json)


@app.command("maintenance")
def maintenance_report(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (site time).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (included).")],
    fmt: Fmt = Format.pdf,
    output: Output = None,
    print_: Print = False,
    as_json: Json = False,
    overwrite: Overwrite = False,
) -> None:
    """Work orders in a period, preventive work on time, MTBF/MTTR per asset, top failure reasons."""
    from cli.report_maintenance import fetch_maintenance

    first, last, dest = _period_file("maintenance", start, end, fmt, output, print_, overwrite)
    _deliver(lambda: asyncio.run(fetch_maintenance(first, last, fmt.value, dest, _bar)), print_=print_,
             as_json=as_json)


_TOPICS = {
    "production": "OEE summary: OEE by machine and line, downtime and rejections.",
    "machines": "Production and OEE by machine, with the downtime Pareto.",
    "shifts": "Production by shift, and by machine in each shift.",
    "operators": "Production by operator.",
    "rejections": "Rejections by reason.",
    "downtime": "Downtime by reason (Pareto).",
}


def _topic_command(topic: str) -> Callable[..., None]:
    def command(
        site: Site,
        start: From = None,
        end: To = None,
        day: Day = None,
        shift: Shift = None,
        line: Line = None,
        fmt: Fmt = Format.pdf,
        output: Output = None,
        print_: Print = False,
        no_raw: NoRaw = False,
        as_json: Json = False,
        overwrite: Overwrite = False,
    ) -> None:
        _run(topic, site=site, line=line, fmt=fmt, output=output, print_=print_, raw=not no_raw, as_json=as_json,
             day=day, shift=shift, start=start, end=end, overwrite=overwrite)

    command.__name__ = f"{topic}_report"
    command.__doc__ = _TOPICS[topic] + " For --from/--to, or --date (and --shift)."
    return command


for _topic in _TOPICS:
    app.command(_topic)(_topic_command(_topic))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="report")
