"""Status mappings as one line of text: `1=running 2=idle 5=setup default=unplanned_stop`."""

from __future__ import annotations

from typing import Any

from factoryos.client import ClientError

STATES = ("running", "idle", "planned_stop", "unplanned_stop", "setup")


def format_mapping(mapping: Any) -> str:
    codes = " ".join(f"{code}={getattr(state, 'value', state)}" for code, state in sorted(mapping.codes.items()))
    default = getattr(mapping.default, "value", mapping.default)
    return f"{codes} default={default}".strip()


def parse_mapping(text: str) -> dict[str, Any]:
    """The API's `{"codes": {...}, "default": ...}` from the text form, or ClientError."""
    codes: dict[str, str] = {}
    default = "unplanned_stop"
    for token in text.replace(",", " ").split():
        key, sep, state = token.partition("=")
        state = state.strip().lower()
        if not sep or state not in STATES:
            raise ClientError("invalid_status_mapping",
                              f"{token!r}: write code=state with a state among {', '.join(STATES)}",
                              field="status_mapping")
        if key.strip().lower() == "default":
            default = state
        elif key.strip().lstrip("-").isdigit():
            codes[str(int(key))] = state
        else:
            raise ClientError("invalid_status_mapping", f"{token!r}: the raw code must be a whole number",
                              field="status_mapping")
    return {"codes": codes, "default": default}
