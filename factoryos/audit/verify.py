"""Recompute a tenant's hash chain and name the first row that does not fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sqlalchemy import Connection, select

from factoryos.audit.anchors import Anchor
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


def verify_anchors(conn: Connection, tenant_id: UUID, anchors: Sequence[Anchor], public_key: Ed25519PublicKey,
                   rows: int) -> ChainReport | None:
    """Check the chain against the heads the server host signed; None when every anchor holds.

    A chain recomputed by someone with database rights passes `verify_chain`, but its rows no
    longer carry the hashes that were signed: the first row after the last anchor that still
    matches is where the rewrite began (at the latest).
    """
    mine = sorted((a for a in anchors if a.tenant_id == str(tenant_id)), key=lambda a: a.seq)
    forged = next((a for a in mine if not a.valid_under(public_key)), None)
    if forged is not None:
        return ChainReport(tenant_id, rows, False, forged.seq, None,
                           f"the anchor for row seq {forged.seq} signed at {forged.signed_at} does not carry a valid "
                           "signature of this installation's audit key (the anchor file was altered)")
    if not mine:
        return None
    stored = dict(conn.execute(
        select(audit_log.c.seq, audit_log.c.row_hash)
        .where(audit_log.c.tenant_id == tenant_id, audit_log.c.seq.in_(sorted({a.seq for a in mine})))
    ).tuples().all())
    good_through = 0
    for anchor in mine:
        if anchor.seq not in stored:
            return ChainReport(tenant_id, rows, False, max(good_through + 1, rows + 1), None,
                               f"row seq {anchor.seq}, signed at {anchor.signed_at}, is gone: rows after seq "
                               f"{good_through} were removed or the chain was rebuilt")
        if stored[anchor.seq] != anchor.row_hash:
            return ChainReport(tenant_id, rows, False, good_through + 1, None,
                               f"the chain no longer matches the head signed at {anchor.signed_at} (seq {anchor.seq}): "
                               f"rows after seq {good_through} were rewritten and their hashes recomputed")
        good_through = anchor.seq
    return None
