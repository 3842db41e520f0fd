"""Invite codes: short, readable aloud, without look-alike characters (no 0/O, 1/I/L)."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def new_invite_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_invite_code(code: str) -> str | None:
    """Canonical form (`K7MX-3QPD`) of what a person typed, or None when it cannot be a code."""
    raw = "".join(ch for ch in code.upper() if ch not in " -")
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return f"{raw[:4]}-{raw[4:]}"
