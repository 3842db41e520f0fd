"""Turning errors into the one-line messages a person at a terminal can act on."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from factoryos.client import ClientError, ServerUnreachable, SessionEnded, UntrustedCertificate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    title: str
    message: str
    severity: str = "error"


def wait_text(seconds: int | None) -> str:
    if not seconds:
        return "later"
    minutes, secs = divmod(int(seconds), 60)
    if minutes and secs:
        return f"in {minutes} min {secs} s"
    return f"in {minutes} min" if minutes else f"in {secs} s"


def describe(error: BaseException) -> Problem:
    if isinstance(error, UntrustedCertificate):
        return Problem("Certificate not trusted",
                       "The server's certificate is not trusted. "
                       f"SHA-256 fingerprint: {error.fingerprint or 'unknown'}")
    if isinstance(error, ServerUnreachable):
        return Problem("Server unreachable", f"Cannot reach {error.url}: {error.reason}.")
    if isinstance(error, SessionEnded):
        return Problem("Signed out", f"{error.detail[:1].upper()}{error.detail[1:]}", "warning")
    if isinstance(error, ClientError):
        if error.code == "invalid_credentials":
            return Problem("Sign-in failed", "Email or password is not correct.")
        if error.code == "account_locked":
            return Problem("Sign-in locked",
                           f"Too many failed sign-ins. Try again {wait_text(error.retry_after)}.")
        if error.code == "invalid_totp":
            return Problem("Sign-in failed", "That code is not valid. Enter the current 6-digit code.")
        if error.status == 403:
            return Problem("Not allowed", _sentence(error.detail))
        where = f" ({error.field})" if error.field and error.field not in error.detail else ""
        return Problem("Not saved" if error.status in (409, 422) else "Request failed", _sentence(error.detail) + where)
    log.error("unexpected error", exc_info=error)
    return Problem("Unexpected error", f"{type(error).__name__}: {error}")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})")


def in_local_time(text: str, zone: tzinfo) -> str:
    """`text` with the server's UTC instants ("2026-12-03T13:00:00+00:00") as the site's clock time."""
    def local(match: re.Match[str]) -> str:
        try:
            at = datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
        except ValueError:
            return match.group(0)
        return f"{at.astimezone(zone):%H:%M}"

    return _ISO_INSTANT.sub(local, text)
