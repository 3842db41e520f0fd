"""Field rules shared by registration, onboarding and invites; errors name the field."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

import pycountry
from email_validator import EmailNotValidError, validate_email

from factoryos.errors import ValidationFailed

COMPANY_SIZES: tuple[str, ...] = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1000+")


def normalize_email(value: str, field: str = "email") -> str:
    try:
        # Syntax only, no DNS lookups: servers may run air-gapped.
        result = validate_email(value.strip(), check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(f"not a valid email address: {exc}", code="invalid_email", field=field) from None
    return result.normalized


def display_name(value: str | None, field: str = "display_name") -> str:
    name = " ".join((value or "").split())
    if len(name) < 2:
        raise ValidationFailed(
            "display name must have at least 2 characters", code="display_name_too_short", field=field
        )
    if len(name) > 200:
        raise ValidationFailed(
            "display name must have at most 200 characters", code="display_name_too_long", field=field
        )
    return name


def required_text(value: str | None, field: str, *, max_length: int) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise ValidationFailed(f"{field.replace('_', ' ')} is required", code="required", field=field)
    if len(text) > max_length:
        raise ValidationFailed(f"{field.replace('_', ' ')} must have at most {max_length} characters", field=field)
    return text


def company_size(value: str | None, field: str = "company_size") -> str:
    if not value:
        raise ValidationFailed("company size is required", code="required", field=field)
    if value not in COMPANY_SIZES:
        raise ValidationFailed(
            f"company size must be one of {', '.join(COMPANY_SIZES)}",
            code="invalid_company_size",
            field=field,
        )
    return value


def currency(value: str | None, field: str = "default_currency") -> str:
    code = (value or "").strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationFailed(
            f"{value!r} is not an ISO 4217 currency code (e.g. EUR, USD)", code="invalid_currency", field=field
        )
    return code


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone_name(value: str | None, field: str = "timezone") -> str | None:
    if value is None or not value.strip():
        return None
    name = value.strip()
    if name not in _zones():
        raise ValidationFailed(
            f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)", code="invalid_timezone", field=field
        )
    return name
