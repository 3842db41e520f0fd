"""Request and response shapes of catalog entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from factoryos.listing import ListQuery

Kind = Literal["machine_model", "material"]
Text200 = Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=200)]
Category = Annotated[
    str,
    Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$", description="e.g. 3d_printer, cnc, filament, resin"),
]


def _specs(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > 100:
        raise ValueError("at most 100 specification keys")
    for key in value:
        if not key or len(key) > 80:
            raise ValueError(f"specification keys are 1–80 characters: {key[:90]!r}")
    return value


class CatalogIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category
    manufacturer: Text200
    name: Text200
    specs: dict[str, Any] = Field(default_factory=dict,
                                  description='Free-form specification, e.g. {"diameter_mm": 1.75}.')

    @field_validator("specs")
    @classmethod
    def _check_specs(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _specs(value)


class CatalogPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category | None = None
    manufacturer: Text200 | None = None
    name: Text200 | None = None
    specs: dict[str, Any] | None = None

    @field_validator("specs")
    @classmethod
    def _check_specs(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _specs(value)


class CatalogOut(BaseModel):
    id: UUID
    kind: Kind
    category: str
    manufacturer: str
    name: str
    specs: dict[str, Any]
    author_company_id: UUID
    editable: bool = Field(description="True when your company authored it (only the author edits).")
    created_at: datetime
    updated_at: datetime


class CatalogQuery(ListQuery):
    category: str | None = Field(None, max_length=80)
    manufacturer: str | None = Field(None, max_length=200)
    mine: bool | None = Field(None, description="Only entries your company authored.")
