"""Writing audit rows, inside the caller's transaction.

Writers in one tenant serialise on the tenant's row in `audit_chain_heads`, locked with
`select … for update` (which waits for the previous writer's commit and then reads the head
it wrote) and held until commit, so the next writer sees this row as its predecessor. A
company's first row has no head row to lock yet: that writer serialises on a
transaction-level advisory lock instead. A rolled-back change takes its audit row with it.
The API's requests use `append_and_commit`: their rows and the commit in one round trip.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, bindparam, func, select, text

from factoryos.audit.chain import GENESIS_HASH, canonical_parts, row_hash, to_json_value
from factoryos.db.driver import run_batch
from factoryos.schema.audit import audit_chain_heads, audit_log

# Second key of the two-int advisory lock space, so audit locks never collide with others.
_LOCK_CLASS = 0x0A0D17

# Built once: every mutation of every request runs them. The advisory lock is its own
# statement: a statement's snapshot is taken before it runs, so the head must be read by a
# later one (a row lock needs no such care: the locked row is re-read once the lock is granted).
_LOCK = text("select pg_advisory_xact_lock(:cls, hashtext(:tenant))")
_HEAD = (
    select(audit_chain_heads.c.seq, audit_chain_heads.c.row_hash)
    .where(audit_chain_heads.c.tenant_id == bindparam("tenant"))
    .with_for_update()
)
# The row and the new head in one round trip.
_APPEND = text(
    """
    with appended as (
      insert into audit_log (id, tenant_id, seq, ts, actor_id, action, entity_type, entity_id, before, after,
                             client_ip, user_agent, request_id, prev_hash, row_hash)
      values (:id, :tenant_id, :seq, :ts, :actor_id, :action, :entity_type, :entity_id, :before, :after,
              :client_ip, :user_agent, :request_id, :prev_hash, :row_hash)
    )
    insert into audit_chain_heads (tenant_id, seq, row_hash) values (:tenant_id, :seq, :row_hash)
    on conflict (tenant_id) do update set seq = excluded.seq, row_hash = excluded.row_hash
    """
).bindparams(*(bindparam(c.name, type_=c.type) for c in audit_log.c))
# The usual case in one statement: lock the head (waiting for the previous writer's commit,
# then reading what it wrote), hash the row in the database from the canonical text around
# seq and prev_hash, append it and advance the head. No row comes back when the company has
# no head yet: its first row takes the path above.
_APPEND_AFTER_HEAD = text(
    """
    with head as (
      select seq, row_hash from audit_chain_heads where tenant_id = :tenant_id for update
    ), next as (
      select h.seq + 1 as seq, h.row_hash as prev_hash,
             encode(sha256(convert_to(:c_head || h.row_hash || :c_mid || (h.seq + 1)::text || :c_tail, 'UTF8')),
                    'hex') as row_hash
      from head h
    ), appended as (
      insert into audit_log (id, tenant_id, seq, ts, actor_id, action, entity_type, entity_id, before, after,
                             client_ip, user_agent, request_id, prev_hash, row_hash)
      select :id, :tenant_id, n.seq, :ts, :actor_id, :action, :entity_type, :entity_id, :before, :after,
             :client_ip, :user_agent, :request_id, n.prev_hash, n.row_hash
      from next n
      returning seq, prev_hash, row_hash
    )
    update audit_chain_heads h set seq = a.seq, row_hash = a.row_hash from appended a
    where h.tenant_id = :tenant_id
    returning a.seq, a.prev_hash, a.row_hash
    """
).bindparams(*(bindparam(c.name, type_=c.type) for c in audit_log.c if c.name not in ("seq", "prev_hash", "row_hash")))

# `append_and_commit`: the same append for one batch with the commit, so that locking the head, the
# append and the commit reach the server together and the chain lock is never held while the
# server waits for this process (which, with many threads and busy cores, can take a while).
# A company without a head yet gets one first (seq 0, the genesis hash: what `verify` expects
# of an empty chain); a second writer's insert waits for the first's and then does nothing.
_ENSURE_HEAD = """
    insert into public.audit_chain_heads (tenant_id, seq, row_hash) values (%(tenant_id)b, 0, %(genesis)b)
    on conflict (tenant_id) do nothing
"""
_PIPELINED_APPEND = """
    with head as (
      select seq, row_hash from public.audit_chain_heads where tenant_id = %(tenant_id)b for update
    ), appended as (
      insert into public.audit_log (id, tenant_id, seq, ts, actor_id, action, entity_type, entity_id, before,
                                    after, client_ip, user_agent, request_id, prev_hash, row_hash)
      select %(id)b, %(tenant_id)b, h.seq + 1, %(ts)b, cast(%(actor_id)b as uuid), %(action)b, %(entity_type)b,
             cast(%(entity_id)b as text), cast(%(before)b as jsonb), cast(%(after)b as jsonb),
             cast(%(client_ip)b as text), cast(%(user_agent)b as text), cast(%(request_id)b as text), h.row_hash,
             encode(sha256(convert_to(%(c_head)b || h.row_hash || %(c_mid)b || (h.seq + 1)::text || %(c_tail)b,
                                      'UTF8')), 'hex')
      from head h
      returning seq, row_hash
    )
    update public.audit_chain_heads h set seq = a.seq, row_hash = a.row_hash from appended a
    where h.tenant_id = %(tenant_id)b
"""
_COMMIT = "commit"


@dataclass(frozen=True)
class AuditEvent:
    tenant_id: UUID
    action: str
    entity_type: str
    entity_id: str | None = None
    actor_id: UUID | None = None
    before: Any = None
    after: Any = None
    client_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


def _clean_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _fields(event: AuditEvent, at: datetime | None) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": event.tenant_id,
        "ts": at or datetime.now(timezone.utc),
        "actor_id": event.actor_id,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": str(event.entity_id) if event.entity_id is not None else None,
        "before": to_json_value(event.before),
        "after": to_json_value(event.after),
        "client_ip": _clean_ip(event.client_ip),
        "user_agent": (event.user_agent or None) and event.user_agent[:400],
        "request_id": event.request_id or None,
    }


def record(conn: Connection, event: AuditEvent, *, at: datetime | None = None) -> dict[str, Any]:
    """Append one row to the tenant's chain and return it (as stored)."""
    row = _fields(event, at)
    c_head, c_mid, c_tail = canonical_parts(row)
    done = conn.execute(_APPEND_AFTER_HEAD, {**row, "c_head": c_head, "c_mid": c_mid, "c_tail": c_tail}).first()
    if done is not None:
        row.update(seq=done.seq, prev_hash=done.prev_hash, row_hash=done.row_hash)
        return row
    # The company's first row, or another writer's first row is not committed yet.
    conn.execute(_LOCK, {"cls": _LOCK_CLASS, "tenant": str(event.tenant_id)})
    head = conn.execute(_HEAD, {"tenant": event.tenant_id}).first()
    row["seq"], row["prev_hash"] = (head.seq + 1, head.row_hash) if head else (1, GENESIS_HASH)
    row["row_hash"] = row_hash(row)
    conn.execute(_APPEND, row)
    return row


def append_and_commit(conn: Connection, events: list[AuditEvent],
                      first: Sequence[tuple[str, Mapping[str, Any]]] = ()) -> None:
    """Run `first` (statements of the caller's own), append `events` (all of the transaction's
    tenant) and commit, in one round trip.

    Everything is prepared first; then the statements go in one batch (`run_batch`) on the
    connection under `conn`: the head's lock is taken by the append itself and the COMMIT
    follows right behind it, so the company's chain lock is held only while the server runs
    them. The COMMIT is sent as a statement (psycopg's `commit()` would wait for its answer
    before the batch's closing sync: a second round trip). An error aborts the batch, the
    commit with it, and is raised here; the caller's transaction then rolls back as usual.
    `conn`'s own commit after this is a no-op.
    """
    if not events and not first:
        return
    tenant = events[0].tenant_id if events else None
    statements = []
    for event in events:
        if event.tenant_id != tenant:
            raise ValueError("append_and_commit takes the events of one company")
        row = _fields(event, None)
        c_head, c_mid, c_tail = canonical_parts(row)
        # Jsonb(None) is JSON null, as the column's SQLAlchemy type stores None elsewhere.
        statements.append({**row, "before": Jsonb(row["before"]), "after": Jsonb(row["after"]),
                           "c_head": c_head, "c_mid": c_mid, "c_tail": c_tail})
    batch: list[tuple[str, Mapping[str, Any] | None]] = list(first)
    if statements:
        batch.append((_ENSURE_HEAD, {"tenant_id": tenant, "genesis": GENESIS_HASH}))
    batch += [(_PIPELINED_APPEND, params) for params in statements]
    batch.append((_COMMIT, None))
    run_batch(conn, batch)


def ensure_partitions(conn: Connection, months_ahead: int = 12) -> int:
    """Create the coming months' partitions (idempotent); returns how many were made."""
    return int(conn.execute(select(func.audit_ensure_partitions(months_ahead))).scalar_one())
