"""Recompute a tenant's hash chain and name the first row that does not fit."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.audit.chain import GENESIS_HASH, row_hash
from factoryos.schema.audit import audit_chain_heads, audit_log


@dataclass(frozen=True)
class ChainReport:
    tenant_id: UUID
    rows: int
    ok: bool
    broken_seq: int | None = None
    broken_id: UUID | None = None
    reason: str | None = None


def verify_chain(conn: Connection, tenant_id: UUID, *, batch: int = 5000) -> ChainReport:
    """Stream the chain in seq order; stop at the first inconsistency."""
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    stmt = (
        select(audit_log)
        .where(audit_log.c.tenant_id == tenant_id)
        .order_by(audit_log.c.seq)
        .execution_options(yield_per=batch)
    )
    for row in conn.execute(stmt).mappings():
        fields = dict(row)
        if row["seq"] != expected_seq:
            what = "missing (deleted?)" if row["seq"] > expected_seq else "duplicated"
            return ChainReport(tenant_id, count, False, expected_seq, None, f"row seq {expected_seq} is {what}")
        if row["prev_hash"] != expected_prev:
            return ChainReport(
                tenant_id, count, False, row["seq"], row["id"],
                "previous-hash link does not match the row before it (a row was removed, inserted or reordered)",
            )
        if row_hash(fields) != row["row_hash"]:
            return ChainReport(
                tenant_id, count, False, row["seq"], row["id"], "content does not match its hash (the row was modified)"
            )
        expected_prev, expected_seq, count = row["row_hash"], expected_seq + 1, count + 1
    head = conn.execute(
        select(audit_chain_heads.c.seq, audit_chain_heads.c.row_hash).where(audit_chain_heads.c.tenant_id == tenant_id)
    ).first()
    if head is not None and (head.seq != count or head.row_hash != expected_prev):
        return ChainReport(
            tenant_id, count, False, count + 1 if head.seq > count else head.seq, None,
            f"the chain head says {head.seq} rows but {count} are present (rows at the end were removed)",
        )
    return ChainReport(tenant_id, count, True)
