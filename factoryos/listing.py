"""List queries and pages shared by every collection endpoint (limit + cursor + q)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=500, description="Page size.")
    cursor: str | None = Field(None, max_length=300, description="`next_cursor` of the previous page.")
    q: str | None = Field(None, max_length=200, description="Case-insensitive search text.")


def like_pattern(q: str) -> str:
    """Search text as an ILIKE pattern matching it anywhere, its own `%`, `_` and `\\` taken
    literally (use with `escape="\\"`)."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
