"""`factoryos lot …`: a lot's label as PDF or ZPL, saved and optionally printed (ZPL raw to a Zebra printer)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.output import fail, ok
from cli.session import NotSignedIn, signed_in_client
from factoryos.client import ClientError
from factoryos.client.api_materials import lot_label

app = typer.Typer(help="Lots: labels with their barcode.", no_args_is_help=True)


def _print(path: Path, raw: bool, printer: str | None) -> str:
    lp = shutil.which("lp")
    if lp is None:
        raise OSError("this computer has no CUPS `lp` command (install cups-client)")
    args = [lp, *(["-d", printer] if printer else []), *(["-o", "raw"] if raw else []), str(path.resolve())]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise OSError(reason[0] if reason else f"lp exited with {done.returncode}")
    return done.stdout.strip()


@app.command("label")
def label(
    lot: Annotated[str, typer.Argument(help="The lot's number (or id), e.g. S-100.")],
    zpl: Annotated[bool, typer.Option("--zpl", help="ZPL for a Zebra printer instead of a PDF.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: lot-NUMBER.pdf/.zpl).")] = None,
    print_: Annotated[bool, typer.Option("--print", help="Send it to the printer (ZPL goes raw: `lp -o raw`).")] = False,
    printer: Annotated[str | None, typer.Option("--printer", "-d", help="CUPS printer name (default: the default printer).")] = None,
) -> None:
    """Save (and print) a lot's label with its GS1-128 barcode."""
    fmt = "zpl" if zpl else "pdf"

    async def fetch() -> tuple[str, bytes]:
        async with signed_in_client() as (client, _):
            return await lot_label(client, lot, fmt)

    try:
        number, body = asyncio.run(fetch())
    except NotSignedIn as exc:
        fail(escape(str(exc)))
    except ClientError as exc:
        fail(escape(exc.detail))
    path = output or Path(f"lot-{''.join(c if c.isalnum() or c in '-_' else '_' for c in number)}.{fmt}")
    try:
        path.write_bytes(body)
    except OSError as exc:
        fail(f"cannot write the label: {escape(str(exc))}")
    ok(f"Saved {escape(str(path.resolve()))}")
    if print_:
        try:
            job = _print(path, raw=zpl, printer=printer)
        except (OSError, subprocess.TimeoutExpired) as exc:
            fail(f"not printed: {escape(str(exc))}; the label is saved at {escape(str(path.resolve()))}")
        ok(f"Sent to the printer{': ' + escape(job) if job else ''}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="lot")
