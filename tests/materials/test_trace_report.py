"""`factoryos report trace --lot …` against the real server: the genealogy as PDF and XLSX, errors as one red line."""

from __future__ import annotations

import os

import typer
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from cli import materials
from tests.cli_support import Outcome, one_red_line
from tests.materials import materials_support as ms
from tests.materials.test_genealogy_api import GTIN, _plant
from tests.reports.test_cli_reports import Cli, cli  # noqa: F401 (the `cli` fixture)


def lot_cli(cli: Cli, *args: str) -> Outcome:  # noqa: F811
    """`factoryos lot …` in this process, registered as cli/main.py registers it."""
    return lot_cli_env(cli, {}, *args)


def test_trace_report_pdf_and_xlsx(cli: Cli, api, owner, app_engine) -> None:  # noqa: F811
    p = _plant(api, owner, app_engine)
    made = ms.run_order(api, owner, p["sub"], p["m1"], 4, [{"code": f"01{GTIN}10S-100"}], good=4)
    sub_lot = made["output"]["lot"]["number"]
    assert cli.login(owner).returncode == 0
    done = cli.invoke("report", "trace", "--lot", "S-100", "--forward", "-o", str(cli.cwd / "trace.pdf"))
    assert done.returncode == 0, done.stderr
    text = PdfReader(cli.cwd / "trace.pdf").pages[0].extract_text()
    assert "Trace of lot S-100 (forward)" in text and sub_lot in text and made["order"]["job_number"] in text
    done = cli.invoke("report", "trace", "--lot", sub_lot, "--format", "xlsx")
    assert done.returncode == 0, done.stderr
    book = load_workbook(cli.cwd / f"trace-backward-{sub_lot}.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
    assert "Acme Steel (A-77)" in cells and any(str(c).strip() == "S-100" for c in cells)
    one_red_line(cli.invoke("report", "trace", "--lot", "NO-SUCH"), "no lot NO-SUCH")

    # The lot's label: ZPL saved as the Zebra printer takes it, PDF by default.
    done = lot_cli(cli, "label", "S-100", "--zpl")
    assert done.returncode == 0, done.stderr
    zpl = (cli.cwd / "lot-S-100.zpl").read_text()
    assert zpl.startswith("^XA") and f"(01){GTIN}(17)300131(10)S-100" in zpl
    assert lot_cli(cli, "label", sub_lot, "-o", str(cli.cwd / "sub.pdf")).returncode == 0
    assert (cli.cwd / "sub.pdf").read_bytes().startswith(b"%PDF")
    one_red_line(lot_cli(cli, "label", "NO-SUCH"), "no lot NO-SUCH")


def test_a_zpl_label_goes_to_the_zebra_printer_raw(cli: Cli, api, owner, tmp_path) -> None:  # noqa: F811
    steel = ms.item(api, owner, number="RM-STEEL", name="Steel sheet", unit="kg", gtin=GTIN, has_expiry=True)
    ms.lot(api, owner, steel["id"], number="S-100", expires_on="2030-01-31")
    assert cli.login(owner).returncode == 0
    bare = tmp_path / "bin"
    bare.mkdir()
    # No CUPS here: one red line, the label kept.
    one_red_line(lot_cli_env(cli, {"PATH": str(bare)}, "label", "S-100", "--zpl", "--print"), "no CUPS", "lot-S-100.zpl")
    assert (cli.cwd / "lot-S-100.zpl").read_text().startswith("^XA")
    calls = tmp_path / "lp-calls.txt"
    lp = bare / "lp"  # a stand-in that records how it was called, as CUPS's lp would be
    lp.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{calls}"\necho "request id is Zebra-7 (1 file(s))"\n')
    lp.chmod(0o755)
    path = f"{bare}{os.pathsep}{os.environ['PATH']}"
    done = lot_cli_env(cli, {"PATH": path}, "label", "S-100", "--zpl", "--print", "-d", "Zebra", "-o",
                       str(cli.cwd / "z.zpl"))
    assert done.returncode == 0, done.stderr
    assert "request id is Zebra-7" in done.stdout
    assert calls.read_text().splitlines() == ["-d", "Zebra", "-o", "raw", str(cli.cwd / "z.zpl")]
    assert f"(01){GTIN}(17)300131(10)S-100" in (cli.cwd / "z.zpl").read_text()
    # A PDF label is printed as a document (CUPS renders it), not raw.
    assert lot_cli_env(cli, {"PATH": path}, "label", "S-100", "--print", "-o", str(cli.cwd / "l.pdf")).returncode == 0
    assert calls.read_text().splitlines() == [str(cli.cwd / "l.pdf")]


def lot_cli_env(cli: Cli, env: dict[str, str], *args: str) -> Outcome:  # noqa: F811
    root = typer.Typer(name="factoryos", no_args_is_help=True)
    root.callback()(lambda: None)
    materials.register(root)
    result = CliRunner().invoke(root, ["lot", *args], env=cli.env | env)
    return Outcome(result.exit_code, result.stdout, result.stderr)
