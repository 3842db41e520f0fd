"""File names on both sides of a download, and how report ranges read dates and times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from factoryos.client.api_reports import safe_filename
from factoryos.errors import ValidationFailed
from factoryos.reports.builders import parse_instant, safe_part


@pytest.mark.parametrize(("header", "expected"), [
    ('attachment; filename="shifts-PLANT-2026-11-20-Night.pdf"', "shifts-PLANT-2026-11-20-Night.pdf"),
    ('attachment; filename="../../.bashrc"', "bashrc"),
    ('attachment; filename="/etc/cron.d/job"', "job"),
    ('attachment; filename="C:\\\\Windows\\\\evil.exe"', "evil.exe"),
    ('attachment; filename="report 1;rm -rf.pdf"', "report_1_rm_-rf.pdf"),
    ('attachment; filename=".."', None),
    ('attachment; filename=""', None),
    ("inline", None),
    (None, None),
])
def test_the_client_keeps_only_a_bare_harmless_name(header: str | None, expected: str | None) -> None:
    assert safe_filename(header) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("../../etc/passwd", "etc-passwd"),
    ("Nacht / Ночь", "Nacht"),
    ("a..b", "a-b"),
    ("Früh Ünal", "Fruh-Unal"),
    ("///", "x"),
])
def test_server_name_parts_are_letters_digits_and_dashes(text: str, expected: str) -> None:
    assert safe_part(text) == expected


@pytest.mark.parametrize(("text", "end", "expected"), [
    ("2026-11-20", False, datetime(2026, 11, 19, 23, tzinfo=UTC)),  # Warsaw midnight, UTC+1
    ("2026-11-20", True, datetime(2026, 11, 20, 23, tzinfo=UTC)),  # a date as `to`: the whole day
    ("2026-11-20T06:00", False, datetime(2026, 11, 20, 5, tzinfo=UTC)),  # local wall time
    ("2026-11-20 06:00", False, datetime(2026, 11, 20, 5, tzinfo=UTC)),
    ("2026-11-20T06:00:00Z", False, datetime(2026, 11, 20, 6, tzinfo=UTC)),
    ("2026-03-29T02:30", False, datetime(2026, 3, 29, 1, tzinfo=UTC)),  # in the DST gap: when clocks jump
])
def test_instants_are_read_in_the_site_timezone(text: str, end: bool, expected: datetime) -> None:
    assert parse_instant(text, "Europe/Warsaw", "from", end=end) == expected


def test_an_unreadable_instant_names_its_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_instant("20.11.2026", "Europe/Warsaw", "to")
    assert caught.value.code == "invalid_datetime" and caught.value.field == "to"
