"""Request and response shapes of inspection plans and their versions (server and client)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)

from factoryos.errors import ValidationFailed
from factoryos.listing import ListQuery
from factoryos.orders.product_models import field_path
from factoryos.plain_errors import plain
from factoryos.signatures.models import SignatureIn, SignatureOut

Kind = Literal["measured", "attribute"]
VersionStatus = Literal["draft", "released", "superseded"]
MAX_SAMPLE = 10
MAX_CHARACTERISTICS = 100
MAX_DEFECTS = 50
LIMIT = Decimal("999999999999")  # numeric(18, 6): 12 digits before the point

def _plain(value: Decimal | None) -> Decimal | None:
    """9.950000 → 9.95: numeric columns pad to their scale; answers show the figure as given."""
    return None if value is None else Decimal(format(value.normalize(), "f"))


Plain = Annotated[Decimal, AfterValidator(_plain)]
Value = Annotated[Decimal, Field(ge=-LIMIT, le=LIMIT, decimal_places=6, allow_inf_nan=False)]
Text = Annotated[str, AfterValidator(str.strip)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Body(_In):
    """A request body: a wrong field is a 422 naming it by its path."""

    @model_validator(mode="wrap")
    @classmethod
    def _bracketed(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """A wrong field is named as the plan checks name fields: `characteristics[0].usl`."""
        try:
            return handler(data)
        except ValidationError as exc:
            errors = [{"field": field_path(e["loc"]), "message": plain(e)}
                      for e in exc.errors(include_url=False, include_input=False)]
            first = errors[0]
            raise ValidationFailed(f"{first['field']}: {first['message']}", field=first["field"],
                                   extra={"errors": errors}) from None


class CharacteristicIn(_In):
    name: Text = Field(min_length=1, max_length=120, description="e.g. Bore diameter, Surface.")
    kind: Kind = Field(description="`measured`: values against limits; `attribute`: pass/fail with a defect.")
    nominal: Value | None = None
    lsl: Value | None = Field(None, description="Lower specification limit (measured: lsl, usl or both).")
    usl: Value | None = Field(None, description="Upper specification limit.")
    unit: Text | None = Field(None, max_length=20, description="e.g. mm, N·m.")
    decimals: int = Field(2, ge=0, le=6, description="Decimals shown and asked for.")
    min_value: Value | None = Field(None, description="Physical lower limit: a value below is refused (e.g. 0 for a "
                                                      "length).")
    max_value: Value | None = Field(None, description="Physical upper limit: a value above is refused.")
    sample_size: int = Field(1, ge=1, le=MAX_SAMPLE,
                             description="Parts measured per inspection: the SPC subgroup size (1: individuals).")
    defects: list[Annotated[Text, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=MAX_DEFECTS, description="Attribute: the defects a failed part may show.")


class VersionContent(_In):
    """A version's content: the sampling rule, who records, the characteristics."""

    first_article: bool = Field(False, description="Due when an order's operation starts on the machine.")
    every_parts: int | None = Field(None, ge=1, le=10_000_000, description="Due every N parts counted.")
    every_minutes: int | None = Field(None, ge=1, le=10_080, description="Due every T minutes.")
    per_shift: bool = Field(False, description="Due once in each shift.")
    grace_minutes: int = Field(15, ge=0, le=1440, description="Due longer than this (or past 2×N parts): overdue.")
    second_person: bool = Field(False, description="The release must be signed by someone other than the draft's "
                                                   "author.")
    record_roles: list[str] = Field(default_factory=list, max_length=10,
                                    description="Roles that may record (empty: anyone holding quality.inspect).")
    notes: str | None = Field(None, max_length=2000)
    characteristics: list[CharacteristicIn] = Field(min_length=1, max_length=MAX_CHARACTERISTICS)


class VersionIn(VersionContent, _Body):
    """A draft's new content."""


class NewVersionIn(_Body):
    content: VersionContent | None = Field(None, description="The new draft's content; null: a copy of the latest "
                                                             "version.")


class PlanIn(_Body):
    name: Text = Field(min_length=1, max_length=200)
    product_id: UUID | None = Field(None, description="The product inspected (give this, machine_id, or both).")
    routing_operation_id: UUID | None = Field(None, description="One operation of the product's routing; "
                                                                "null: every operation.")
    machine_id: UUID | None = Field(None, description="One machine; alone: while no product runs on it.")
    version: VersionContent = Field(description="Version 1, a draft.")


class CharacteristicOut(BaseModel):
    id: UUID
    lineage_id: UUID = Field(description="The same characteristic in every version (its SPC chart follows this).")
    seq: int
    name: str
    kind: Kind
    nominal: Plain | None
    lsl: Plain | None
    usl: Plain | None
    unit: str | None
    decimals: int
    min_value: Plain | None
    max_value: Plain | None
    sample_size: int
    defects: list[str]


class VersionSummary(BaseModel):
    id: UUID
    version: int
    status: VersionStatus
    created_at: datetime
    released_at: datetime | None


class VersionOut(VersionSummary):
    plan_id: UUID
    first_article: bool
    every_parts: int | None
    every_minutes: int | None
    per_shift: bool
    grace_minutes: int
    second_person: bool
    record_roles: list[str]
    notes: str | None
    released_by: UUID | None
    released_by_name: str | None
    superseded_at: datetime | None
    content_hash: str | None = Field(description="SHA-256 of the content released (what the signature signed).")
    created_by: UUID | None = Field(description="The draft's author.")
    signatures: list[SignatureOut] = Field(default_factory=list,
                                           description="The release signature(s); `valid` false once the content "
                                                       "changed after signing.")
    characteristics: list[CharacteristicOut]


class PlanOut(BaseModel):
    id: UUID
    name: str
    product_id: UUID | None
    product_number: str | None
    product_name: str | None
    routing_operation_id: UUID | None
    operation_name: str | None
    machine_id: UUID | None
    machine_code: str | None
    created_at: datetime
    released_version: int | None
    draft_version: int | None
    versions: list[VersionSummary]


class PlanPage(BaseModel):
    items: list[PlanOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class PlanQuery(ListQuery):
    product_id: UUID | None = None
    machine_id: UUID | None = None


class ReleaseIn(BaseModel):
    """Release a draft: an electronic signature (the password entered again, its meaning)."""

    model_config = ConfigDict(extra="forbid")

    signature: SignatureIn = Field(description="The release signature: password (and totp when enrolled), "
                                               "meaning, reason.")
