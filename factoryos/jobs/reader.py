"""Uploaded bytes → a header and data rows, from CSV (UTF-8, `,` `;` or tab) or XLSX.

The header is the first of the leading rows that names job fields (an export may start
with a title line); blank rows are dropped but row numbers stay those of the file, so a
message says "row 7" where the spreadsheet shows row 7.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from factoryos.errors import ValidationFailed
from factoryos.jobs.columns import known_count
from factoryos.jobs.limits import MAX_ROWS, MAX_UNZIPPED_BYTES, human_size

log = logging.getLogger(__name__)

Format = Literal["csv", "xlsx"]
DELIMITERS = (",", ";", "\t")
HEADER_SEARCH = 10  # leading non-blank rows looked at for the header
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Sheet:
    format: Format
    delimiter: str | None
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[Any]]]  # (row number in the file, cells)


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field="content")


def detect_format(data: bytes, file_name: str) -> Format:
    name = file_name.lower()
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    if name.endswith(".xlsx") or name.endswith(".xlsm"):
        raise _refuse(f"{file_name} is not a valid XLSX workbook", "invalid_xlsx")
    if name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse("old Excel .xls files are not supported: save it as .xlsx or as CSV UTF-8", "unsupported_format")
    return "csv"


def read_sheet(data: bytes, file_name: str) -> Sheet:
    if not data:
        raise _refuse("the file is empty", "empty_file")
    if detect_format(data, file_name) == "xlsx":
        return _xlsx(data)
    return _csv(data)


# -- finding the header ----------------------------------------------------------------------


def _blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _numbered(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[int, list[Any]]]:
    for number, cells in enumerate(rows, start=1):
        if not _blank(cells):
            yield number, list(cells)


def _split(numbered: Iterator[tuple[int, list[Any]]], fmt: Format, delimiter: str | None) -> Sheet:
    """Header from the leading rows, then at most MAX_ROWS data rows."""
    leading: list[tuple[int, list[Any]]] = []
    for item in numbered:
        leading.append(item)
        if len(leading) == HEADER_SEARCH:
            break
    if not leading:
        raise _refuse("the file has no rows", "empty_file")
    best = max(range(len(leading)), key=lambda i: (known_count(leading[i][1]), -i))
    header_row, header_cells = leading[best]
    header = ["" if c is None else str(c).strip() for c in header_cells]
    rows = leading[best + 1:]
    for item in numbered:
        rows.append(item)
        if len(rows) > MAX_ROWS:
            raise _refuse(f"the file has more than {MAX_ROWS} job rows: split it into smaller files", "too_many_rows")
    if len(rows) > MAX_ROWS:
        raise _refuse(f"the file has more than {MAX_ROWS} job rows: split it into smaller files", "too_many_rows")
    return Sheet(fmt, delimiter, header, header_row, rows)


# -- CSV -------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse("the file is UTF-16 text: save it as CSV UTF-8", "unsupported_encoding")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(
            f"the file is not UTF-8 text (byte {exc.start + 1} is not valid UTF-8): save it as CSV UTF-8 "
            "from your spreadsheet or ERP", "unsupported_encoding",
        ) from None
    if "\x00" in text:
        raise _refuse("the file contains NUL bytes: it is not a CSV text file", "not_text")
    return text


def sniff_delimiter(text: str) -> str:
    """The delimiter under which the leading lines name the most job fields (then: most columns)."""
    sample = text.splitlines()[:HEADER_SEARCH]
    best: tuple[int, int, int] | None = None
    choice = ","
    for rank, delimiter in enumerate(DELIMITERS):
        try:
            rows = list(csv.reader(sample, delimiter=delimiter))
        except csv.Error:
            continue
        score = (max((known_count(r) for r in rows), default=0), max((len(r) for r in rows), default=0), -rank)
        if best is None or score > best:
            best, choice = score, delimiter
    return choice


def _csv(data: bytes) -> Sheet:
    text = _decode(data)
    delimiter = sniff_delimiter(text)
    try:
        return _split(_numbered(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)), "csv", delimiter)
    except csv.Error as exc:
        raise _refuse(f"the CSV file cannot be read: {exc}", "invalid_csv") from None


# -- XLSX ------------------------------------------------------------------------------------


def _xlsx(data: bytes) -> Sheet:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse("the file is not a valid XLSX workbook", "invalid_xlsx") from None
    if unpacked > MAX_UNZIPPED_BYTES:
        raise _refuse(f"the workbook unpacks to {human_size(unpacked)}, more than {human_size(MAX_UNZIPPED_BYTES)}",
                      "file_too_large")
    import openpyxl  # only imports that upload XLSX pay for loading it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        log.info("unreadable XLSX upload: %s", type(exc).__name__)
        raise _refuse("the file is not a valid XLSX workbook", "invalid_xlsx") from None
    try:
        sheets = list(book.worksheets)
        if not sheets:
            raise _refuse("the workbook has no worksheet", "empty_file")
        chosen = sheets[0]
        if len(sheets) > 1:  # the first sheet whose leading rows look like a job list
            def score(ws: Any) -> int:
                rows = list(ws.iter_rows(max_row=HEADER_SEARCH, values_only=True))
                return max((known_count(r) for r in rows), default=0)

            chosen = max(sheets, key=score)
        return _split(_numbered(chosen.iter_rows(values_only=True)), "xlsx", None)
    except ValidationFailed:
        raise
    except Exception as exc:
        log.info("unreadable XLSX upload: %s", type(exc).__name__)
        raise _refuse("the XLSX workbook cannot be read", "invalid_xlsx") from None
    finally:
        book.close()
