"""What is wrong with an import is said per row and field, or for the whole file; never a 500."""

from __future__ import annotations

import base64

import pytest

from tests.onboarding.support import csv_bytes, errors_by_row, small_plant, upload
from tests.production import plant
from tests.production.plant import problem

HEADER = ["Job", "Product", "Qty", "Due", "Site", "Machine", "Status"]


def test_each_row_error_names_its_row_field_and_column(api, owner) -> None:
    p = small_plant(api, owner)
    other_site = plant.site(api, owner, code="NORTH")
    retired = plant.machine(api, owner, other_site["id"], code="OLD-1")
    assert api.patch(f"/api/v1/machines/{retired['id']}", json={"status": "retired"},
                     headers=owner.headers).status_code == 200
    rows = [
        ["", "Bracket", "5", "2026-09-01", "", "", ""],                     # 2 missing job number
        ["J-3", "", "5", "2026-09-01", "", "", ""],                         # 3 missing product
        ["J-4", "Bracket", "abc", "2026-09-01", "", "", ""],                # 4 quantity not a number
        ["J-5", "Bracket", "0", "2026-09-01", "", "", ""],                  # 5 quantity not > 0
        ["J-6", "Bracket", "5", "31.02.2026", "", "", ""],                  # 6 no such day
        ["J-7", "Bracket", "5", "next week", "", "", ""],                   # 7 unparseable
        ["J-8", "Bracket", "5", "", "", "", ""],                            # 8 missing date
        ["J-9", "Bracket", "5", "2026-09-01", "", "MILL-77", ""],           # 9 unknown machine
        ["J-10", "Bracket", "5", "2026-09-01", "SOUTH", "", ""],            # 10 unknown site
        ["J-11", "Bracket", "5", "2026-09-01", "NORTH", "PRESS-01", ""],    # 11 machine at another site
        ["J-12", "Bracket", "5", "2026-09-01", "", "OLD-1", ""],            # 12 retired machine
        ["J-13", "Bracket", "5", "2026-09-01", "", "", "scrapped"],         # 13 unknown status
        ["J-" + "9" * 70, "Bracket", "5", "2026-09-01", "", "", ""],        # 14 job number too long
        ["J-15", "Bracket", "5", "2026-09-01", "main", "press-01", "done"],  # 15 fine (codes any case)
    ]
    body = upload(api, owner, csv_bytes([HEADER, *rows])).json()
    assert errors_by_row(body) == {
        2: [("job_number", "required")],
        3: [("product", "required")],
        4: [("quantity", "invalid_quantity")],
        5: [("quantity", "invalid_quantity")],
        6: [("due_date", "invalid_date")],
        7: [("due_date", "invalid_date")],
        8: [("due_date", "required")],
        9: [("machine_code", "unknown_machine")],
        10: [("site_code", "unknown_site")],
        11: [("machine_code", "machine_other_site")],
        12: [("machine_code", "machine_retired")],
        13: [("status", "invalid_status")],
        14: [("job_number", "too_long")],
    }
    by_row = {e["row"]: e for e in body["errors"]}
    assert by_row[4]["column"] == "Qty" and "'abc' is not a number" in by_row[4]["message"]
    assert by_row[6]["message"] == "'31.02.2026' is not a calendar date"
    assert by_row[9]["message"] == "no machine with code 'MILL-77' in this company"
    last = body["rows"][-1]
    assert last["valid"] and (last["site_code"], last["machine_code"], last["status"]) == ("MAIN", "PRESS-01", "completed")
    assert p.site["code"] == "MAIN"
    assert (body["valid_rows"], body["invalid_rows"], body["error_count"]) == (1, 13, 13)


def test_ambiguous_dates_and_quantities_are_refused_unless_the_file_tells(api, owner) -> None:
    ambiguous = csv_bytes([HEADER, ["J-1", "Bracket", "1.200", "03/04/2026", "", "", ""]])
    body = upload(api, owner, ambiguous).json()
    assert errors_by_row(body) == {2: [("quantity", "ambiguous_quantity"), ("due_date", "ambiguous_date")]}
    # Another row settles the order (25/12 is day-first) and the grouping (1.200.000).
    settled = csv_bytes([HEADER, ["J-1", "Bracket", "1.200", "03/04/2026", "", "", ""],
                         ["J-2", "Bracket", "1.200.000", "25/12/2026", "", "", ""]])
    rows = upload(api, owner, settled).json()["rows"]
    assert [(r["quantity"], r["due_date"]) for r in rows] == [(1200, "2026-04-03"), (1200000, "2026-12-25")]


@pytest.mark.parametrize(
    ("data", "file_name", "status", "code"),
    [
        (b"", "jobs.csv", 422, "empty_file"),
        (b"\n\n\n", "jobs.csv", 422, "empty_file"),
        (b"Name,Colour\nx,y\n", "jobs.csv", 422, "missing_columns"),
        ("Job,Product,Qty,Due\n1,Stahlträger,5,2026-09-01\n".encode("utf-16"), "jobs.csv", 422,
         "unsupported_encoding"),
        ("Job,Product,Qty,Due\n1,Stahltr\u00e4ger,5,2026-09-01\n".encode("latin-1"), "jobs.csv", 422,
         "unsupported_encoding"),
        (b"Job,Product,Qty,Due\n1,\x00,5,2026-09-01\n", "jobs.csv", 422, "not_text"),
        (b"PK\x03\x04 not really a zip", "jobs.xlsx", 422, "invalid_xlsx"),
        (b"Job,Product\n", "jobs.xlsx", 422, "invalid_xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", "jobs.xls", 422, "unsupported_format"),
    ],
)
def test_unreadable_files_are_refused_for_the_whole_file(api, owner, data, file_name, status, code) -> None:
    body = problem(upload(api, owner, data, file_name), status, code, "content")
    assert body["detail"]


def test_missing_columns_are_named(api, owner) -> None:
    r = upload(api, owner, csv_bytes([["Job", "Part", "Customer"], ["J-1", "Bracket", "Acme"]]))
    body = problem(r, 422, "missing_columns", "content")
    assert body["missing"] == ["quantity", "due_date"] and "'Customer'" in body["detail"]


def test_content_must_be_base64(api, owner) -> None:
    r = api.post("/api/v1/jobs/import", json={"file_name": "jobs.csv", "content": "not base64!!"},
                 headers=owner.headers)
    problem(r, 422, "invalid_base64", "content")
    r = api.post("/api/v1/jobs/import", json={"file_name": "jobs.csv"}, headers=owner.headers)
    assert (r.status_code, r.json()["field"]) == (422, "content")


def test_too_many_rows(api, owner) -> None:
    rows = [[f"J-{i}", "B", "1", "2026-09-01"] for i in range(5001)]
    body = problem(upload(api, owner, csv_bytes([["Job", "Product", "Qty", "Due"], *rows])), 422, "too_many_rows",
                   "content")
    assert "5000" in body["detail"]


def test_files_over_the_limit_say_how_large_they_may_be(api, owner) -> None:
    limit = api.get("/api/v1/jobs/import/limits", headers=owner.headers).json()["max_file_bytes"]
    just_over = b"Job,Product,Qty,Due\n" + b"x" * (limit + 10)
    body = problem(upload(api, owner, just_over), 413, "file_too_large", "content")
    assert body["max_file_bytes"] == limit and "FACTORYOS_MAX_BODY_BYTES" in body["detail"]
    # Far over: the body limit answers before the app reads anything.
    r = api.post("/api/v1/jobs/import", headers=owner.headers,
                 json={"file_name": "big.csv", "content": base64.b64encode(b"x" * 900_000).decode()})
    problem(r, 413, "body_too_large")
