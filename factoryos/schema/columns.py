"""Columns every module's tables share, declared once (the tenant column stays with each module:
whether it references `companies` follows that module's migration)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Uuid, func, text


def id_column() -> Column:
    return Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()"))


def timestamp(name: str, nullable: bool = True, default: bool = False) -> Column:
    """A time with zone; `default`: the database fills in now()."""
    return Column(name, DateTime(timezone=True), nullable=nullable, server_default=func.now() if default else None)
