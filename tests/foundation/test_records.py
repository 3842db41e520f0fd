"""Typed records mirror their tables: every column, and no other key, with a matching type.

A column added, renamed or retyped in the schema without its record fails here, so what a
checker believes about a row cannot drift from what the database returns.
"""

from __future__ import annotations

import types
import typing

import pytest
from sqlalchemy import Table

from factoryos.identity.records import MemberRecord
from factoryos.plant.records import LineRecord, MachineRecord, SiteRecord
from factoryos.production.records import ShiftInstanceRecord
from factoryos.schema.identity import memberships
from factoryos.schema.plant import lines, machines, sites
from factoryos.schema.production import shift_instances

RECORDS = [(SiteRecord, sites), (LineRecord, lines), (MachineRecord, machines), (MemberRecord, memberships),
           (ShiftInstanceRecord, shift_instances)]


def _python_types(annotation: object) -> set[type]:
    """The runtime classes a field's annotation allows (None for an optional one)."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set().union(*(_python_types(a) for a in args))
    origin = typing.get_origin(annotation)
    if origin is typing.NotRequired:
        return _python_types(args[0])
    if annotation is type(None):
        return {type(None)}
    return {origin or annotation}  # type: ignore[arg-type]


@pytest.mark.parametrize(("record", "table"), RECORDS, ids=[r.__name__ for r, _ in RECORDS])
def test_record_mirrors_its_table(record: type, table: Table) -> None:
    hints = typing.get_type_hints(record, include_extras=True)
    assert set(hints) == set(table.c.keys()), f"{record.__name__} keys differ from table {table.name}"
    for column in table.c:
        allowed = _python_types(hints[column.name])
        assert (type(None) in allowed) == (column.nullable or column.name == "id" and record is ShiftInstanceRecord), \
            f"{record.__name__}.{column.name}: nullable is {column.nullable}"
        try:
            expected = column.type.python_type
        except NotImplementedError:  # JSONB: dict or list, as the record says
            expected = object
        concrete = allowed - {type(None)}
        assert any(issubclass(c, expected) for c in concrete), \
            f"{record.__name__}.{column.name}: {concrete} is not {expected}"

