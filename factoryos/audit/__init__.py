"""Immutable, hash-chained audit trail (DESIGN.md §4)."""

from factoryos.audit.chain import GENESIS_HASH, row_hash
from factoryos.audit.writer import AuditEvent, record

__all__ = ["GENESIS_HASH", "AuditEvent", "record", "row_hash"]
