"""Immutable, hash-chained audit trail (DESIGN.md §4).

`factoryos.audit.writer` records (`AuditEvent`, `record`), `factoryos.audit.chain` hashes
(`row_hash`, `GENESIS_HASH`). Nothing is re-exported here: importing any module of the
package runs this file first, so it stays free of SQL for the pure ones.
"""
