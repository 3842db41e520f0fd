"""`factoryos report trace --lot …` against the real server: the genealogy as PDF and XLSX, errors as one red line."""

from __future__ import annotations

import io
import os
import re

import typer
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from cli import materials
from tests.cli_support import Outcome, one_red_line
from tests.materials import materials_support as ms
from tests.materials.test_genealogy_api import GTIN, _plant
from tests.nonconformances.support import NC
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


def test_trace_quantities_read_as_written_with_their_unit(api, owner, app_engine, tmp_path) -> None:
    """Pieces as whole numbers, kilograms with the decimals they have: never padded to the column's
    scale (8.400, 3.000), the same in the PDF and the workbook (numbers kept numbers there)."""
    p = _plant(api, owner, app_engine)
    sub = ms.run_order(api, owner, p["sub"], p["m1"], 4, [{"code": f"01{GTIN}10S-100"}], good=4)["output"]["lot"]
    hsg = ms.run_order(api, owner, p["hsg"], p["m2"], 3, [{"code": sub["number"]},
                                                         {"code": p["resin_lot"]["number"]}], good=3)
    ms.ok(api.post(NC, json={"machine_id": p["m2"]["id"], "order_id": hsg["order"]["id"], "quantity": 2,
                             "description": "Bent flange"}, headers=owner.headers), 201)
    ms.ok(api.post(NC, json={"machine_id": p["m1"]["id"], "lot_id": p["steel_lot"]["id"], "quantity": "1.25",
                             "description": "Scale on the steel"}, headers=owner.headers), 201)
    lot = hsg["output"]["lot"]["number"]
    pdf = api.get("/api/v1/reports/trace", params={"lot": lot, "format": "pdf"}, headers=owner.headers)
    assert pdf.status_code == 200, pdf.text
    (tmp_path / "trace.pdf").write_bytes(pdf.content)  # to look at: pdftoppm -png
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(tmp_path / "trace.pdf").pages)
    # Backward: 3 sub-assemblies (pieces) and 0.3 kg resin went in; 8.4 kg steel into the sub-assemblies.
    for shown in (f"{sub['number']} SUB-10 Sub-assembly 3 pcs", "RM-RESIN Resin 0.3 kg", "RM-STEEL Steel sheet 8.4 kg",
                  "open n/a 2 pcs", "open n/a 1.25 kg"):
        assert shown in text, shown
    assert not re.search(r"\d\.\d*0 (pcs|kg)", text), text

    xlsx = api.get("/api/v1/reports/trace", params={"lot": lot, "format": "xlsx"}, headers=owner.headers)
    assert xlsx.status_code == 200, xlsx.text
    book = load_workbook(io.BytesIO(xlsx.content))
    tree = [row for row in book["Genealogy"].iter_rows(min_row=2) if row[0].value]  # level 0 used nothing
    cells = sorted((row[2].value, row[3].value, row[3].number_format, row[4].value) for row in tree)
    assert cells == [("RM-RESIN Resin", 0.3, "#,##0.0", "kg"),
                     ("RM-STEEL Steel sheet", 8.4, "#,##0.0", "kg"), ("SUB-10 Sub-assembly", 3, "#,##0", "pcs")]
    ncs = {row[5].value: (row[4].value, row[4].number_format)
           for row in book["Nonconformances"].iter_rows(min_row=2)}
    assert ncs == {"pcs": (2, "#,##0"), "kg": (1.25, "#,##0.00")}
    # A trace is the genealogy as it stands at one instant, not a period (nor an order report).
    about = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert about["Report"] == "Trace report" and "As of (UTC)" in about and "From (UTC)" not in about
    assert re.search(r"As of \d{4}-\d\d-\d\d \d\d:\d\d \(UTC\)", text) and " – " not in text
