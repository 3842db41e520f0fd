"""Write webhook events in the transaction of the fact they report (the outbox).

`emit` is called where a fact is committed (a state change, a downtime opened, an order's
status). In one statement it stores the events some enabled endpoint subscribes to, and one
pending delivery per such endpoint; with no subscriber it writes nothing. Delivery happens
later, in the server's worker (`factoryos.integrations.delivery`), so no request or poller
batch waits on a receiver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from factoryos.integrations.webhook_models import TEST_EVENT


@dataclass(frozen=True)
class Fact:
    """One event to report: its type, when it happened, and its `data` (JSON-able)."""

    type: str
    occurred_at: datetime
    data: Mapping[str, Any]


# `rows` is a JSON array of {type, occurred_at, data}; the endpoint filter runs per event.
_EMIT = text("""
    with facts as (
      select gen_random_uuid() as id, f->>'type' as event_type, (f->>'occurred_at')::timestamptz as occurred_at,
             f->'data' as data
      from jsonb_array_elements(cast(:rows as jsonb)) f
      where exists (select 1 from webhook_endpoints e
                    where e.tenant_id = :tenant and e.enabled and f->>'type' = any(e.events))
    ), stored as (
      insert into webhook_events (tenant_id, id, event_type, occurred_at, payload)
      select :tenant, id, event_type, occurred_at,
             jsonb_build_object('id', id, 'type', event_type, 'company_id', cast(:tenant as text),
                                'occurred_at', occurred_at, 'data', data)
      from facts
      returning id, event_type
    )
    insert into webhook_deliveries (tenant_id, endpoint_id, event_id)
    select :tenant, e.id, s.id
    from stored s join webhook_endpoints e
      on e.tenant_id = :tenant and e.enabled and s.event_type = any(e.events)
""")

_EMIT_TEST = text("""
    with stored as (
      insert into webhook_events (tenant_id, id, event_type, occurred_at, payload)
      select :tenant, x.id, cast(:type as text), now(),
             jsonb_build_object('id', x.id, 'type', cast(:type as text), 'company_id', cast(:tenant as text),
                                'occurred_at', now(), 'data', jsonb_build_object('endpoint_id', cast(:endpoint as text)))
      from (select gen_random_uuid() as id) x
      returning id
    )
    insert into webhook_deliveries (tenant_id, endpoint_id, event_id)
    select :tenant, :endpoint, id from stored
    returning id
""")


def _jsonable(value: Any) -> Any:
    """`json.dumps`'s fallback for what facts carry besides JSON types (its C encoder does the rest)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-able")


# An expression a batch writer adds to a statement it runs anyway: the event types some enabled
# endpoint of the company subscribes to, so it builds no facts nobody hears (read in its transaction,
# so an endpoint saved before it began is heard).
SUBSCRIBED_TYPES = ("array(select distinct t from webhook_endpoints e cross join unnest(e.events) t "
                    "where e.tenant_id = %(tenant)b and e.enabled)")


def emit(conn: Connection, tenant_id: UUID, facts: Sequence[Fact]) -> int:
    """Queue `facts` for the company's subscribed endpoints; returns the deliveries queued."""
    if not facts:
        return 0
    rows = [{"type": f.type, "occurred_at": f.occurred_at, "data": f.data} for f in facts]
    return conn.execute(_EMIT, {"tenant": tenant_id, "rows": json.dumps(rows, default=_jsonable)}).rowcount


def emit_test(conn: Connection, tenant_id: UUID, endpoint_id: UUID) -> UUID:
    """A `webhook.test` event for one endpoint (enabled or not: testing is how one finds out)."""
    return conn.execute(_EMIT_TEST, {"tenant": tenant_id, "endpoint": endpoint_id, "type": TEST_EVENT}).scalar_one()
