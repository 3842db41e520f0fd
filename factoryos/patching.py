"""Partial updates: only the fields a client sent, with nulls refused where a column needs a value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from factoryos.errors import ValidationFailed


def changes(patch: BaseModel, *, nullable: Iterable[str] = ()) -> dict[str, Any]:
    allowed_null = set(nullable)
    out: dict[str, Any] = {}
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        if value is None and name not in allowed_null:
            raise ValidationFailed(f"{name} cannot be null", code="null_not_allowed", field=name)
        out[name] = value
    return out
