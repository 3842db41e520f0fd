"""Job import over HTTP: CSV and XLSX previews, commits, skip-invalid, audit, listing."""

from __future__ import annotations

import threading
from datetime import date, datetime

from sqlalchemy import text

from tests.onboarding.support import csv_bytes, errors_by_row, import_body, jobs_of, small_plant, upload, xlsx_bytes

HEADER = ["Job", "Part", "Qty", "Due", "Customer", "Machine", "Notes"]


def _audit_rows(engine, tenant: str, entity: str = "job_import") -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            text("select * from audit_log where tenant_id = :t and entity_type = :e order by seq"),
            {"t": tenant, "e": entity}).mappings()]


def test_csv_preview_maps_aliases_and_writes_nothing(api, owner, superuser_engine) -> None:
    small_plant(api, owner)
    data = csv_bytes([HEADER, ["J-1001", "Bracket", "1200", "2026-09-01", "Acme", "press-01", "rush"],
                      [], ["J-1002", "Hinge", "50", "2026-09-03", "", "", ""]], bom=True)
    r = upload(api, owner, data)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["dry_run"], body["format"], body["delimiter"], body["header_row"]) == (True, "csv", ",", 1)
    assert [c["field"] for c in body["columns"]] == [
        "job_number", "product", "quantity", "due_date", "customer", "machine_code", "notes"]
    assert (body["total_rows"], body["valid_rows"], body["invalid_rows"], body["imported"]) == (2, 2, 0, 0)
    first, second = body["rows"]
    assert first == {"row": 2, "valid": True, "job_number": "J-1001", "product": "Bracket", "quantity": 1200,
                     "due_date": "2026-09-01", "customer": "Acme", "site_code": None, "machine_code": "PRESS-01",
                     "status": "planned", "notes": "rush"}
    assert second["row"] == 4 and second["customer"] is None  # the blank line keeps its number
    assert body["errors"] == [] and body["import_id"] is None
    assert jobs_of(api, owner) == []
    assert _audit_rows(superuser_engine, owner.tenant_id) == []


def test_semicolon_csv_with_european_dates_and_german_headers(api, owner) -> None:
    data = csv_bytes([["Auftrag", "Artikel", "Menge", "Liefertermin", "Status"],
                      ["A-1", "Welle", "1.200.000", "24.12.2026", "freigegeben"],
                      ["A-2", "Flansch", "300", "02.01.27", ""]], delimiter=";")
    body = upload(api, owner, data).json()
    assert body["delimiter"] == ";" and body["errors"] == []
    assert [(r["quantity"], r["due_date"], r["status"]) for r in body["rows"]] == [
        (1200000, "2026-12-24", "released"), (300, "2027-01-02", "planned")]


def test_commit_imports_in_one_go_with_one_audit_row(api, owner, superuser_engine) -> None:
    p = small_plant(api, owner)
    data = csv_bytes([HEADER, ["J-1", "Bracket", "10", "2026-09-02", "Acme", "PRESS-01", ""],
                      ["J-2", "Hinge", "20", "2026-09-01", "", "LATHE-02", ""]])
    r = upload(api, owner, data, dry_run=False)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["dry_run"], body["imported"], body["skipped"], body["job_numbers"]) == (False, 2, 0, ["J-1", "J-2"])
    listed = jobs_of(api, owner)
    assert [j["job_number"] for j in listed] == ["J-2", "J-1"]  # due first
    assert listed[0]["machine_id"] == p.lathe["id"] and listed[0]["site_id"] == p.site["id"]
    assert listed[0]["machine_code"] == "LATHE-02" and listed[0]["site_code"] == "MAIN"
    assert {j["import_id"] for j in listed} == {body["import_id"]}
    one = api.get(f"/api/v1/jobs/{listed[1]['id']}", headers=owner.headers).json()
    assert (one["customer"], one["quantity"], one["created_by"]) == ("Acme", 10, owner.user_id)
    audits = _audit_rows(superuser_engine, owner.tenant_id)
    assert len(audits) == 1 and audits[0]["action"] == "create" and audits[0]["entity_id"] == body["import_id"]
    assert audits[0]["before"] is None
    assert audits[0]["after"] == {"file_name": "jobs.csv", "format": "csv", "imported": 2, "skipped": 0,
                                  "total_rows": 2, "job_numbers": ["J-1", "J-2"]}


def test_xlsx_preview_and_commit(api, owner) -> None:
    small_plant(api, owner)
    rows = [["Order No.", "Item", "Order Qty", "Delivery Date", "Work Center", "Site"],
            [4711, "Gear", 25.0, datetime(2026, 10, 5), "PRESS-01", "MAIN"],
            ["4712", "Shaft", 8, date(2026, 10, 6), None, None],
            [None, None, None, None, None, None],
            [4713, "Axle", 2.5, "someday", "MILL-9", None]]
    data = xlsx_bytes(rows, title_rows=1, sheets_before=1)
    preview = upload(api, owner, data, "ERP export.xlsx").json()
    assert (preview["format"], preview["delimiter"], preview["header_row"]) == ("xlsx", None, 2)
    assert [(r["row"], r["job_number"], r["quantity"], r["due_date"]) for r in preview["rows"][:2]] == [
        (3, "4711", 25, "2026-10-05"), (4, "4712", 8, "2026-10-06")]
    assert errors_by_row(preview) == {6: [("quantity", "invalid_quantity"), ("due_date", "invalid_date"),
                                          ("machine_code", "unknown_machine")]}
    refused = upload(api, owner, data, "ERP export.xlsx", dry_run=False)
    assert refused.status_code == 422 and refused.json()["code"] == "import_has_errors"
    assert jobs_of(api, owner) == []
    done = upload(api, owner, data, "ERP export.xlsx", dry_run=False, skip_invalid=True).json()
    assert (done["imported"], done["skipped"], done["job_numbers"]) == (2, 1, ["4711", "4712"])
    assert sorted(j["job_number"] for j in jobs_of(api, owner)) == ["4711", "4712"]


def test_errors_refuse_the_commit_and_nothing_is_half_written(api, owner, superuser_engine) -> None:
    good = [[f"J-{i}", "Bracket", "5", "2026-09-01", "", "", ""] for i in range(200)]
    data = csv_bytes([HEADER, *good, ["J-bad", "Bracket", "five", "2026-09-01", "", "", ""]])
    r = upload(api, owner, data, dry_run=False)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert (problem["code"], problem["field"], problem["error_count"], problem["invalid_rows"]) == (
        "import_has_errors", "content", 1, 1)
    assert problem["errors"][0] | {"message": ""} == {"row": 202, "field": "quantity", "column": "Qty",
                                                       "code": "invalid_quantity", "message": ""}
    assert jobs_of(api, owner) == []
    assert _audit_rows(superuser_engine, owner.tenant_id) == []


def test_skip_invalid_imports_only_the_valid_rows(api, owner) -> None:
    data = csv_bytes([HEADER, ["J-1", "Bracket", "5", "2026-09-01", "", "", ""],
                      ["", "Bracket", "5", "2026-09-01", "", "", ""],
                      ["J-3", "Bracket", "5", "2026-09-01", "", "", ""]])
    body = upload(api, owner, data, dry_run=False, skip_invalid=True).json()
    assert (body["imported"], body["skipped"], body["invalid_rows"]) == (2, 1, 1)
    assert sorted(j["job_number"] for j in jobs_of(api, owner)) == ["J-1", "J-3"]


def test_nothing_valid_to_import(api, owner) -> None:
    data = csv_bytes([HEADER, ["", "Bracket", "5", "2026-09-01", "", "", ""]])
    r = upload(api, owner, data, dry_run=False, skip_invalid=True)
    assert (r.status_code, r.json()["code"]) == (422, "nothing_to_import")


def test_duplicates_in_the_file_and_already_imported(api, owner) -> None:
    assert upload(api, owner, csv_bytes([HEADER, ["J-1", "Bracket", "5", "2026-09-01", "", "", ""]]),
                  dry_run=False).status_code == 200
    data = csv_bytes([HEADER, ["J-1", "Bracket", "5", "2026-09-01", "", "", ""],
                      ["J-2", "Hinge", "5", "2026-09-01", "", "", ""],
                      ["J-2", "Hinge v2", "6", "2026-09-02", "", "", ""]])
    body = upload(api, owner, data).json()
    assert errors_by_row(body) == {2: [("job_number", "job_exists")], 4: [("job_number", "duplicate_in_file")]}
    assert "also in row 3" in next(e["message"] for e in body["errors"] if e["row"] == 4)
    assert [r["valid"] for r in body["rows"]] == [False, True, False]


def test_concurrent_imports_of_one_file_land_once(api, owner, live_server) -> None:
    import httpx

    data = csv_bytes([HEADER, *[[f"R-{i}", "Bracket", "5", "2026-09-01", "", "", ""] for i in range(300)]])
    body = import_body(data, dry_run=False)
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(2)

    def send() -> None:
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            barrier.wait()
            answers.append(client.post("/api/v1/jobs/import", json=body, headers=owner.headers))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes[0] == 200 and codes[1] in (409, 422), [a.text for a in answers]
    assert next(a for a in answers if a.status_code != 200).json()["code"] in ("job_exists", "import_has_errors")
    assert len(jobs_of(api, owner)) == 300


def test_idempotent_retry_imports_once(api, owner) -> None:
    data = csv_bytes([HEADER, ["J-1", "Bracket", "5", "2026-09-01", "", "", ""]])
    headers = {**owner.headers, "Idempotency-Key": "import-retry-0001"}
    first = api.post("/api/v1/jobs/import", json=import_body(data, dry_run=False), headers=headers)
    again = api.post("/api/v1/jobs/import", json=import_body(data, dry_run=False), headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert len(jobs_of(api, owner)) == 1


def test_list_filters_search_and_pages(api, owner) -> None:
    p = small_plant(api, owner)
    rows = [[f"J-{i:02}", "Bracket" if i % 2 else "Hinge", "5", f"2026-09-{1 + i % 5:02}", "",
             "PRESS-01" if i < 3 else "", "done" if i == 0 else ""] for i in range(12)]
    assert upload(api, owner, csv_bytes([["Job", "Part", "Qty", "Due", "Customer", "Machine", "Status"], *rows]),
                  dry_run=False).status_code == 200
    assert len(jobs_of(api, owner, q="hinge")) == 6
    assert [j["job_number"] for j in jobs_of(api, owner, machine_id=p.press["id"])] == ["J-00", "J-01", "J-02"]
    assert [j["job_number"] for j in jobs_of(api, owner, status="completed")] == ["J-00"]
    seen, cursor = [], None
    while True:
        r = api.get("/api/v1/jobs", params={"limit": 5, **({"cursor": cursor} if cursor else {})},
                    headers=owner.headers).json()
        seen += [j["job_number"] for j in r["items"]]
        cursor = r["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 12 == len(set(seen))
    assert seen == [j["job_number"] for j in jobs_of(api, owner)]
    bad = api.get("/api/v1/jobs", params={"cursor": "not-a-cursor"}, headers=owner.headers)
    assert (bad.status_code, bad.json()["field"]) == (422, "cursor")


def test_limits_name_the_sizes_and_columns(api, owner) -> None:
    limits = api.get("/api/v1/jobs/import/limits", headers=owner.headers).json()
    assert limits["max_body_bytes"] == 1_048_576
    assert 700_000 < limits["max_file_bytes"] < limits["max_body_bytes"]
    assert limits["max_rows"] == 5000 and limits["formats"] == ["csv", "xlsx"]
    assert "qty" in limits["columns"]["quantity"] and limits["required"][0] == "job_number"
