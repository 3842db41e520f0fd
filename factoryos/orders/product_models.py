"""Request and response shapes of products, routings and their imports (also what the typed client reads).

Routing bodies carry plain types here: their limits are checked in `factoryos.orders.routings`,
so that a 422 names the field as `operations[0].resources[1].cycle_seconds`.
"""

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
from factoryos.jobs.models import ImportOutcome
from factoryos.listing import ListQuery
from factoryos.plain_errors import plain

ProductStatus = Literal["active", "obsolete"]
MAX_CYCLE_SECONDS = 86400
MAX_SETUP_SECONDS = 7 * 86400
MAX_PARTS_PER_CYCLE = 10_000
MAX_SEQ = 99_999
MAX_OPERATIONS = 200
MAX_RESOURCES = 200

Number = Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=60,
                                                          description="The product (part) number, unique per company.")]
Name = Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=200)]
Unit = Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=20, description="e.g. pcs, kg, m.")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductIn(_In):
    number: Number
    name: Name
    unit: Unit = "pcs"
    status: ProductStatus = "active"


class ProductPatch(_In):
    number: Number | None = None
    name: Name | None = None
    unit: Unit | None = None
    status: ProductStatus | None = Field(None, description="`obsolete` keeps the product for its orders.")


class ProductOut(BaseModel):
    id: UUID
    number: str
    name: str
    unit: str
    status: ProductStatus
    operation_count: int = Field(description="Operations in its routing; 0: runs at the machine's own ideal cycle.")
    created_at: datetime
    updated_at: datetime


class ProductQuery(ListQuery):
    status: ProductStatus | None = None


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


# -- routing -----------------------------------------------------------------------------------


class RoutingResourceIn(_In):
    machine_id: UUID | None = Field(None, description="One machine; give this or line_id.")
    line_id: UUID | None = Field(None, description="Every active machine of the line, at this standard.")
    cycle_seconds: Decimal | None = Field(
        None, description=f"Standard time of one cycle, above 0 and at most {MAX_CYCLE_SECONDS} s; "
                          "give this or rate_per_hour.")
    rate_per_hour: Decimal | None = Field(
        None, description="Standard parts per hour; the cycle is 3600 × parts_per_cycle ÷ rate.")
    parts_per_cycle: int = Field(1, description=f"Parts one cycle makes (a multi-cavity mould), 1 to "
                                                f"{MAX_PARTS_PER_CYCLE}.")


class RoutingOperationIn(_In):
    seq: int = Field(description=f"Position in the routing (1 to {MAX_SEQ}, unique), e.g. 10, 20, 30.")
    name: str = Field(description="e.g. Press, Deburr; 1 to 120 characters.")
    setup_seconds: Decimal = Field(Decimal(0), description=f"Standard setup (changeover), 0 to {MAX_SETUP_SECONDS} s.")
    resources: list[RoutingResourceIn] = Field(description="The machines or lines that may run it (at least one).")


class RoutingIn(_In):
    operations: list[RoutingOperationIn] = Field(
        description=f"The whole routing (at most {MAX_OPERATIONS} operations); an empty list removes it.")

    @model_validator(mode="wrap")
    @classmethod
    def _bracketed(cls, data: Any, handler: ModelWrapValidatorHandler[RoutingIn]) -> RoutingIn:
        """A wrong type is named as the routing checks name fields: `operations[0].resources[1].cycle_seconds`."""
        try:
            return handler(data)
        except ValidationError as exc:
            errors = [{"field": field_path(e["loc"]), "message": plain(e)}
                      for e in exc.errors(include_url=False, include_input=False)]
            first = errors[0]
            raise ValidationFailed(f"{first['field']}: {first['message']}", field=first["field"],
                                   extra={"errors": errors}) from None


def field_path(loc: tuple[int | str, ...]) -> str:
    """("operations", 0, "seq") -> "operations[0].seq"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


class RoutingResourceOut(BaseModel):
    id: UUID
    machine_id: UUID | None
    machine_code: str | None
    line_id: UUID | None
    line_code: str | None
    cycle_seconds: float
    rate_per_hour: float = Field(description="Parts per hour at the standard: 3600 × parts_per_cycle ÷ cycle.")
    parts_per_cycle: int


class RoutingOperationOut(BaseModel):
    id: UUID
    seq: int
    name: str
    setup_seconds: float
    resources: list[RoutingResourceOut]


class RoutingOut(BaseModel):
    product_id: UUID
    product_number: str
    operations: list[RoutingOperationOut]


# -- imports -----------------------------------------------------------------------------------


class ProductImportIn(_In):
    file_name: str = Field(min_length=1, max_length=255, description="The file's name; `.xlsx` or CSV text.")
    content: str = Field(description="The file's bytes, base64-encoded (see …/import/limits for the size).")
    dry_run: bool = Field(True, description="Only parse and check: the preview. False imports.")
    skip_invalid: bool = Field(False, description="Import the valid rows even when others have errors.")


class ProductImportRow(BaseModel):
    row: int
    valid: bool
    action: Literal["create", "update", "unchanged"] | None = Field(
        description="What importing the row does to the product of that number; null when invalid.")
    number: str | None
    name: str | None
    unit: str | None
    status: ProductStatus | None


class RoutingImportRow(BaseModel):
    row: int
    valid: bool
    product_number: str | None
    seq: int | None
    operation: str | None
    machine_code: str | None
    line_code: str | None
    cycle_seconds: float | None = Field(description="Given, or computed from the rate per hour.")
    parts_per_cycle: int | None
    setup_seconds: float | None


class ProductImportOut(ImportOutcome):
    created: int
    updated: int
    rows: list[ProductImportRow]
    product_numbers: list[str] = Field(description="The products created or changed.")


class RoutingImportOut(ImportOutcome):
    routings: int = Field(description="Products whose routing the file replaced (or would replace).")
    rows: list[RoutingImportRow]
    product_numbers: list[str] = Field(description="The products whose routing was replaced.")
