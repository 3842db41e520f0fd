"""The quality report prints the signed records behind its figures — the released plan version inspected
against and the product's NCs — with each signature's signer, meaning and time, and says when a record
changed after signing: the signature is printed as no longer valid (JSON and the PDF's text)."""

from __future__ import annotations

import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

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
    assert (closed["what"], closed["status"], closed["meaning"], closed["signature"]) == (
        f"7 at {shop['machine']['code']}, scrap", "closed", "approved", "valid")
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
