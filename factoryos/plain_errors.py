"""A refused value said in a person's words, not pydantic's.

Every 422 names its field apart (`field`), so the message says only what the value must be:
"must be at most 100000000", not "Input should be less than or equal to 100000000". The
operator's terminal shows it at the field, and an integrator reads it in the problem's
`detail`. A refusal this does not know keeps pydantic's own words; a validator's own message
(a `ValueError` raised in a model) keeps its words without pydantic's "Value error, ".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_WORDS = {
    "missing": "is required",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "string_too_long": "may be at most {max_length} characters long",
    "string_too_short": "must be at least {min_length} characters long",
    "string_pattern_mismatch": "must match the pattern {pattern}",
    "too_long": "may hold at most {max_length} items",
    "too_short": "must hold at least {min_length} items",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "decimal_max_places": "may have at most {decimal_places} decimal places",
    "decimal_max_digits": "may have at most {max_digits} digits",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "uuid_parsing": "must be an id (a UUID)",
    "uuid_type": "must be an id (a UUID)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_type": "must be a date (YYYY-MM-DD)",
    "datetime_parsing": "must be a date and time (ISO 8601, e.g. 2026-03-01T06:00:00+01:00)",
    "datetime_from_date_parsing": "must be a date and time (ISO 8601, e.g. 2026-03-01T06:00:00+01:00)",
    "datetime_type": "must be a date and time (ISO 8601, e.g. 2026-03-01T06:00:00+01:00)",
    "timezone_aware": "must say its offset from UTC (e.g. +01:00 or Z)",
    "enum": "must be one of {expected}",
    "literal_error": "must be one of {expected}",
    "extra_forbidden": "is not a field of this request",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "json_invalid": "is not valid JSON",
}
_OWN_WORDS = ("Value error, ", "Assertion failed, ")


def plain(error: Mapping[str, Any]) -> str:
    """The message of one pydantic error (an item of `ValidationError.errors()`)."""
    kind = error.get("type", "")
    if kind == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        return "may not be empty"
    words = _WORDS.get(kind)
    if words is not None:
        try:
            return words.format(**{k: str(v) for k, v in (error.get("ctx") or {}).items()})
        except (KeyError, IndexError):
            pass  # a context without the bound named: pydantic's own words below
    message = str(error.get("msg", "invalid"))
    for prefix in _OWN_WORDS:
        message = message.removeprefix(prefix)
    return message
