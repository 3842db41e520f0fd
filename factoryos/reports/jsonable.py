"""The report as plain JSON data, for `format=json` and scripts.

Datetimes are ISO 8601 with the site's UTC offset, durations are seconds, ratios are
fractions, "n/a" is null. Raw entries are only included on request, or streamed by
`iter_json`, because they can run to millions of rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from itertools import islice
from typing import Any

from factoryos.reports.model import (
    BarChart,
    Column,
    LineChart,
    ParetoChart,
    ReportDocument,
    Row,
    Section,
    TableSection,
)

FORMAT_VERSION = 1
_CHUNK = 1000


def json_value(value: Any, tz: tzinfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _columns(columns: Sequence[Column]) -> list[dict[str, Any]]:
    return [{"key": c.key, "label": c.label, "type": c.type.value, "decimals": c.decimals}
            | ({"trim": True} if c.trim else {}) for c in columns]


def _row(columns: Sequence[Column], row: Row, tz: tzinfo) -> dict[str, Any]:
    return {c.key: json_value(v, tz) for c, v in zip(columns, row)}


def _section(section: Section, tz: tzinfo) -> dict[str, Any]:
    if isinstance(section, TableSection):
        return {
            "type": "table",
            "key": section.key,
            "title": section.title,
            "note": section.note,
            "columns": _columns(section.columns),
            "rows": [_row(section.columns, r, tz) for r in section.rows],
            "totals": None if section.totals is None else _row(section.columns,
                                                               section.totals, tz),
        }
    if isinstance(section, LineChart):
        return {"type": "line_chart", "key": section.key, "title": section.title,
                "value_label": section.value_label, "value_type": section.value_type.value,
                "categories": list(section.categories),
                "series": [{"name": s.name, "role": s.role, "values": [json_value(v, tz) for v in s.values]}
                           for s in section.series],
                "marked": list(section.marked), "marked_label": section.marked_label}
    base = {
        "key": section.key,
        "title": section.title,
        "value_label": section.value_label,
        "value_type": section.value_type.value,
        "categories": list(section.categories),
        "values": [json_value(v, tz) for v in section.values],
    }
    if isinstance(section, BarChart):
        return {"type": "bar_chart", **base, "target": json_value(section.target, tz)}
    assert isinstance(section, ParetoChart)
    return {"type": "pareto_chart", **base, "cumulative": list(section.cumulative)}


def report_to_dict(document: ReportDocument, *, include_raw: bool = False) -> dict[str, Any]:
    header = document.header
    tz = header.tz
    raw = document.raw
    return {
        "format_version": FORMAT_VERSION,
        "header": {
            "company": header.company,
            "site": header.site,
            "timezone": header.timezone,
            "start": json_value(header.start, tz),
            "end": json_value(header.end, tz),
            "kind": header.kind.value,
            "title": header.display_title,
            "generated_by": header.generated_by,
            "generated_at": json_value(header.generated_at, tz),
        },
        "kpis": None if document.kpis is None else [
            {"key": t.key, "label": t.label, "type": t.type.value,
             "value": json_value(t.value, tz)}
            for t in document.kpis.tiles()
        ],
        "notes": list(document.notes),
        "sections": [_section(s, tz) for s in document.sections],
        "raw": None if raw is None else {
            "title": raw.title,
            "count": raw.count,
            "columns": _columns(raw.columns),
            **({"rows": [_row(raw.columns, r, tz) for r in raw.iter_rows()]}
               if include_raw else {}),
        },
    }


def iter_json(document: ReportDocument) -> Iterator[str]:
    """The full document as JSON text in chunks, raw entries included, in bounded memory."""
    head = report_to_dict(document)
    raw = head.pop("raw")
    yield json.dumps(head, ensure_ascii=False)[:-1]
    if raw is None or document.raw is None:
        yield ', "raw": null}'
        return
    yield ', "raw": ' + json.dumps(raw, ensure_ascii=False)[:-1] + ', "rows": ['
    tz = document.header.tz
    columns = document.raw.columns
    rows = document.raw.iter_rows()
    separator = ""
    while chunk := list(islice(rows, _CHUNK)):
        yield separator + ", ".join(
            json.dumps(_row(columns, r, tz), ensure_ascii=False) for r in chunk)
        separator = ", "
    yield "]}}"
