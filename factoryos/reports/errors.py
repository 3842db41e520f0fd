"""Errors a caller of the report renderers can cause; codes are public API."""

from __future__ import annotations

from factoryos.errors import ConfigError, ValidationFailed


class ReportInvalid(ValidationFailed):
    """The report model breaks a rule (naive datetime, ragged row, wrong value type…)."""

    code = "report_invalid"
    title = "Invalid report"


class ReportFormatUnsupported(ValidationFailed):
    code = "report_format_unsupported"
    title = "Unsupported report format"


class ReportFontMissing(ConfigError):
    code = "report_font_missing"
    title = "Report font missing"
