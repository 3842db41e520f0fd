"""Reading a scanned code: a GS1-128 / DataMatrix element string, or a plain lot number.

The element strings are parsed by `biip` (GS1's AI table, check digits, dates). Scanners often
drop or replace the group separator (FNC1): the common substitutes are accepted, and what was
read is given back with separators shown as ␝ so that the operator sees what the scanner sent.
An application identifier outside GS1's table is refused with what was read, never guessed.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, Field

from factoryos.errors import ValidationFailed

GS = "\x1d"
# What keyboard-wedge scanners send for FNC1 when not configured for it.
_SUBSTITUTES = ("<GS>", "{GS}", "[GS]", "^]", "\\x1d", "␝")
_SYMBOLOGY = re.compile(r"^\](C1|e0|d2|Q3|J1)")
_USED = {"01", "02", "10", "17", "21"}
_UNKNOWN_AI = re.compile(r"Failed to get GS1 Application Identifier from '(.*)'", re.S)


class ElementOut(BaseModel):
    ai: str
    title: str = Field(description="GS1's short name for the identifier.")
    value: str


class ScanRead(BaseModel):
    read: str = Field(description="What was read, group separators shown as ␝.")
    gs1: bool = Field(description="Whether the code was a GS1 element string.")
    gtin: str | None = None
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    other: list[ElementOut] = Field(default_factory=list, description="Identifiers read but not used here.")


def _normalise(code: str) -> str:
    code = code.strip("\r\n")
    for sub in _SUBSTITUTES:
        code = code.replace(sub, GS)
    return code


def looks_gs1(code: str) -> bool:
    return bool(_SYMBOLOGY.match(code)) or code.startswith("(") or GS in code or bool(re.match(r"^0[12]\d{14}", code))


def parse_scan(raw: str, field: str = "code") -> ScanRead:
    code = _normalise(raw)
    shown = code.replace(GS, "␝")
    if not code.strip():
        raise ValidationFailed("nothing was scanned", code="scan_empty", field=field)
    if not looks_gs1(code):
        return ScanRead(read=shown, gs1=False, lot=code.strip())
    # biip loads with the first GS1 scan, not at every server start.
    from biip import ParseError
    from biip.gs1_messages import GS1Message

    try:
        message = GS1Message.parse_hri(code) if code.startswith("(") else GS1Message.parse(_SYMBOLOGY.sub("", code))
    except ParseError as e:
        unknown = _UNKNOWN_AI.search(str(e))
        if unknown:
            rest = unknown.group(1).replace(GS, "␝")
            raise ValidationFailed(f"unknown GS1 identifier at “{rest}” in {shown}", code="scan_unknown_ai",
                                   field=field, extra={"read": shown, "unknown": rest}) from None
        raise ValidationFailed(f"not a GS1 code this terminal can read: {shown} ({e})", code="scan_unreadable",
                               field=field, extra={"read": shown}) from None
    out = ScanRead(read=shown, gs1=True)
    for element in message.element_strings:
        ai = element.ai.ai
        if ai in ("01", "02"):
            out.gtin = element.value
        elif ai == "10":
            out.lot = element.value
        elif ai == "17":
            out.expiry = element.date
        elif ai == "21":
            out.serial = element.value
        if ai not in _USED:
            out.other.append(ElementOut(ai=ai, title=element.ai.data_title, value=element.value))
    return out
