"""Offset cursors for the materials lists (opaque to clients: pass `next_cursor` back)."""

from __future__ import annotations

from factoryos.errors import ValidationFailed


def offset_of(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        raise ValidationFailed("this cursor is not one a page gave", code="invalid_cursor", field="cursor")
    return int(cursor)


def next_cursor(offset: int, limit: int, fetched: int) -> str | None:
    """`fetched` rows were read with limit + 1: one more than the page means another page."""
    return str(offset + limit) if fetched > limit else None
