"""Import files made in memory (CSV text, real XLSX workbooks) and a small plant to import into."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import httpx
from openpyxl import Workbook

from tests.accounts import Session
from tests.production import plant


@dataclass(frozen=True)
class Plant:
    site: dict[str, Any]
    press: dict[str, Any]
    lathe: dict[str, Any]


def small_plant(api: httpx.Client, owner: Session) -> Plant:
    site = plant.site(api, owner, code="MAIN", name="Main plant")
    press = plant.machine(api, owner, site["id"], code="PRESS-01", name="Press 1")
    lathe = plant.machine(api, owner, site["id"], code="LATHE-02", name="Lathe 2")
    return Plant(site, press, lathe)


def csv_bytes(rows: list[list[Any]], delimiter: str = ",", bom: bool = False) -> bytes:
    text = "\r\n".join(delimiter.join("" if c is None else str(c) for c in row) for row in rows) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def xlsx_bytes(rows: list[list[Any]], *, title_rows: int = 0, sheets_before: int = 0) -> bytes:
    book = Workbook()
    first = book.active
    for i in range(sheets_before):
        other = book.create_sheet(f"Notes {i}", 0)
        other.append(["This sheet is not a job list"])
    for _ in range(title_rows):
        first.append(["Export from the ERP"])
    for row in rows:
        first.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def import_body(data: bytes, file_name: str = "jobs.csv", **flags: Any) -> dict[str, Any]:
    return {"file_name": file_name, "content": base64.b64encode(data).decode(), **flags}


def upload(api: httpx.Client, who: Session, data: bytes, file_name: str = "jobs.csv", **flags: Any) -> httpx.Response:
    return api.post("/api/v1/jobs/import", json=import_body(data, file_name, **flags), headers=who.headers)


def jobs_of(api: httpx.Client, who: Session, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/api/v1/jobs", params={"limit": 500, **params}, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def errors_by_row(body: dict[str, Any]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for e in body["errors"]:
        out.setdefault(e["row"], []).append((e["field"], e["code"]))
    return out
