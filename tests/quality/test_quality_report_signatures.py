"""The quality report prints the signed records behind its figures — the released plan version inspected
against and the product's NCs, each NC with its quantity in the product's unit — with each signature's
signer, meaning and time, and says when a record changed after signing: the signature is printed as no
longer valid (JSON, the PDF's text and the XLSX's cells)."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import text

from factoryos.reports.builders.quality_report import NO_LONGER_VALID
from tests.accounts import join
from tests.nonconformances.support import NC, disposition, ok, open_nc, signature
from tests.quality import support

REPORT = "/api/v1/reports/quality"


def test_signed_records_in_the_report_and_a_change_after_signing(api, owner, app_engine, superuser_engine,
                                                                 tmp_path) -> None:
    shop = support.running_shop(api, owner, app_engine)
    p = support.plan(api, owner, product_id=shop["product"]["id"])
    support.release(api, owner, p["id"])
    v = support.get_version(api, owner, p["id"])
    assert support.inspect(api, owner, shop["machine"]["id"], p["id"], v).status_code == 201
    nc = open_nc(api, owner, shop["machine"]["id"], product_id=shop["product"]["id"], quantity=7)
    disposition(api, owner, nc["id"], "scrap")
    manager = join(api, owner, "plant_manager")
    ok(api.post(f"{NC}/{nc['id']}/close", json={"signature": signature(manager, reason="Scrap confirmed")},
                headers=manager.headers))
    today = datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    params = {"product": shop["product"]["number"], "from": today, "to": today}

    def signed_rows() -> dict[str, dict]:
        r = api.get(REPORT, params=params | {"format": "json"}, headers=owner.headers)
        assert r.status_code == 200, r.text
        section = next(s for s in r.json()["sections"] if s["key"] == "signatures")
        return {row["record"]: row for row in section["rows"]}

    rows = signed_rows()
    assert set(rows) == {"Plan v1", "NC-0001"}
    assert (rows["Plan v1"]["what"], rows["Plan v1"]["status"], rows["Plan v1"]["meaning"],
            rows["Plan v1"]["signature"]) == (p["name"], "released", "approved", "valid")
    closed = rows["NC-0001"]
    assert (closed["what"], closed["quantity"], closed["unit"], closed["status"], closed["meaning"],
            closed["signature"]) == (f"{shop['machine']['code']}, scrap", 7, "pcs", "closed", "approved", "valid")
    assert (rows["Plan v1"]["quantity"], rows["Plan v1"]["unit"]) == (None, None)
    assert closed["signer"] == ok(api.get(f"{NC}/{nc['id']}", headers=owner.headers))["signatures"][0]["signer_name"]

    # The closed NC changed behind the application's back: its signature no longer holds; the plan's does.
    with superuser_engine.begin() as conn:
        conn.execute(text("update nonconformances set quantity = 70 where id = :i"), {"i": nc["id"]})
    rows = signed_rows()
    assert rows["NC-0001"]["signature"] == NO_LONGER_VALID and rows["Plan v1"]["signature"] == "valid"

    r = api.get(REPORT, params=params | {"format": "pdf"}, headers=owner.headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    pdf = tmp_path / "quality.pdf"
    pdf.write_bytes(r.content)
    words = " ".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                    check=True).stdout.split())
    assert "Signed records" in words and "NO LONGER VALID: changed since signed" in words
    assert words.count("NO LONGER VALID") == 1  # the NC's; the plan's release is still valid


def _pdf_words(content: bytes, tmp_path) -> str:
    pdf = tmp_path / "quality.pdf"
    pdf.write_bytes(content)
    return " ".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())


def test_nc_quantities_carry_the_unit_in_the_pdf_and_the_xlsx(api, owner, app_engine, tmp_path) -> None:
    """8.4 kg of a product counted in kg, 6 pcs of its lot's item counted in pieces: each NC line shows the
    decimals it has and its unit; the XLSX holds numbers with a per-cell format and the unit beside them."""
    shop = support.running_shop(api, owner, app_engine)
    product, machine = shop["product"], shop["machine"]
    ok(api.patch(f"/api/v1/products/{product['id']}", json={"unit": "kg"}, headers=owner.headers))
    item = ok(api.post("/api/v1/materials/items", json={"number": "BOX-1", "name": "Box", "kind": "material"},
                       headers=owner.headers), 201)
    lot = ok(api.post("/api/v1/materials/lots", json={"item_id": item["id"], "number": "L-BOX-1"},
                      headers=owner.headers), 201)
    open_nc(api, owner, machine["id"], product_id=product["id"], quantity="8.4")
    open_nc(api, owner, machine["id"], product_id=product["id"], quantity=6, lot_id=lot["id"])
    today = datetime.now(UTC).date().isoformat()  # nothing inspected: the report's days are UTC days
    params = {"product": product["number"], "from": today, "to": today}

    r = api.get(REPORT, params=params | {"format": "json"}, headers=owner.headers)
    section = next(s for s in ok(r)["sections"] if s["key"] == "signatures")
    assert [(row["record"], row["what"], row["quantity"], row["unit"]) for row in section["rows"]] == [
        ("NC-0001", machine["code"], 8.4, "kg"), ("NC-0002", machine["code"], 6, "pcs")]

    r = api.get(REPORT, params=params | {"format": "pdf"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    words = _pdf_words(r.content, tmp_path)
    assert f"NC-0001 {machine['code']} 8.4 kg open" in words, words
    assert f"NC-0002 {machine['code']} 6 pcs open" in words, words

    r = api.get(REPORT, params=params | {"format": "xlsx"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    header, *rows = load_workbook(io.BytesIO(r.content))["Signed records"].iter_rows()
    labels = [c.value for c in header]
    qty, unit = labels.index("Qty"), labels.index("Unit")
    assert [(row[0].value, row[qty].value, row[qty].number_format, row[unit].value) for row in rows] == [
        ("NC-0001", 8.4, "#,##0.0", "kg"), ("NC-0002", 6, "#,##0", "pcs")]
    assert all(isinstance(row[qty].value, (int, float, Decimal)) for row in rows)  # numbers, not text
