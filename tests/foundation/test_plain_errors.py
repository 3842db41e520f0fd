"""A refused value is said in a person's words: what it must be, not pydantic's phrasing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import pytest
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from factoryos.plain_errors import plain


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(0, ge=0, le=100)
    name: str = Field("x", min_length=1, max_length=5)
    weight: Decimal = Field(Decimal(0), decimal_places=3)
    kind: Literal["good", "scrap"] = "good"
    at: AwareDatetime | None = None
    machine: UUID | None = None
    when: datetime | None = None
    code: str = "A"

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not value.isupper():
            raise ValueError("codes are capital letters")
        return value


def said(**body) -> str:
    with pytest.raises(ValidationError) as caught:
        Body.model_validate(body)
    (error,) = caught.value.errors()
    return plain(error)


@pytest.mark.parametrize(("body", "words"), [
    ({"count": 101}, "must be at most 100"),
    ({"count": -1}, "must be at least 0"),
    ({"count": "4²"}, "must be a whole number"),
    ({"count": 2.5}, "must be a whole number"),
    ({"name": ""}, "may not be empty"),
    ({"name": "toolong"}, "may be at most 5 characters long"),
    ({"weight": "1.2345"}, "may have at most 3 decimal places"),
    ({"weight": "heavy"}, "must be a number"),
    ({"kind": "rework"}, "must be one of 'good' or 'scrap'"),
    ({"at": "2026-03-01T06:00:00"}, "must say its offset from UTC (e.g. +01:00 or Z)"),
    ({"machine": "CNC-01"}, "must be an id (a UUID)"),
    ({"when": "yesterday"}, "must be a date and time (ISO 8601, e.g. 2026-03-01T06:00:00+01:00)"),
    ({"colour": "red"}, "is not a field of this request"),
    ({"code": "abc"}, "codes are capital letters"),  # a validator's own words, without "Value error, "
])
def test_each_refusal_says_what_the_value_must_be(body, words) -> None:
    assert said(**body) == words


def test_a_required_field_says_so() -> None:
    class Needs(BaseModel):
        quantity: int

    with pytest.raises(ValidationError) as caught:
        Needs.model_validate({})
    assert plain(caught.value.errors()[0]) == "is required"


def test_an_unknown_refusal_keeps_pydantics_words() -> None:
    error = {"type": "some_new_check", "msg": "Input should be a multiple of 5", "loc": ("count",)}
    assert plain(error) == "Input should be a multiple of 5"
