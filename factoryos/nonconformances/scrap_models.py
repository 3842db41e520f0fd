"""Request and response shapes of machine-counted scrap, offered as a source of nonconformances."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from factoryos.errors import ValidationFailed

MAX_RANGE = timedelta(days=2)


class MachineScrapQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: AwareDatetime = Field(alias="from", description="Start of the period.")
    to: AwareDatetime = Field(description="End of the period, exclusive; at most 2 days after `from`.")
    machine_id: UUID | None = Field(None, description="Only this machine's scrap.")

    @model_validator(mode="after")
    def _period(self) -> MachineScrapQuery:
        if self.to <= self.from_:
            raise ValidationFailed("`to` must be after `from`", code="invalid_range", field="to")
        if self.to - self.from_ > MAX_RANGE:
            raise ValidationFailed("at most 2 days per request", code="range_too_long", field="to")
        return self


class MachineScrapOut(BaseModel):
    machine_id: UUID
    start: datetime = Field(description="Start of the hour the machine counted the rejects in: an hour of the "
                                        "machine's site's clock (at a site at +05:30 it starts at :30 UTC).")
    end: datetime = Field(description="End of that hour, exclusive: one hour later, also across a DST change.")
    quantity: int = Field(description="Rejects the machine's counter counted (booked rejections not included).")
    order_id: UUID | None = Field(description="The order whose run held those minutes; null when none ran.")
    product_id: UUID | None
