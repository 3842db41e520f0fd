"""One row per integrations tenant table for the isolation matrix (tests/tenancy_seed.py)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _endpoint(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into webhook_endpoints (tenant_id, url, events, secret_encrypted) "
             "values (:t, :u, array['machine.state_changed'], 'sealed')"),
        {"t": tenant, "u": f"https://hooks.example.com/{tag}"},
    )


def _event(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into webhook_events (tenant_id, event_type, payload, occurred_at) "
             "values (:t, 'machine.state_changed', cast(:p as jsonb), now())"),
        {"t": tenant, "p": f'{{"tag": "{tag}"}}'},
    )


def _delivery(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into webhook_deliveries (tenant_id, endpoint_id, event_id) "
             "select :t, (select id from webhook_endpoints where tenant_id = :t limit 1), "
             "(select id from webhook_events where tenant_id = :t limit 1)"),
        {"t": tenant},
    )


def _mqtt_publish(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into mqtt_publish_settings (tenant_id, url, group_id, edge_node_id, topic_prefix, enabled) "
             "values (:t, 'mqtt://broker.invalid:1883', :g, 'FactoryOS', :g, false)"),
        {"t": tenant, "g": f"co-{tag}"},
    )


INTEGRATIONS_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "webhook_endpoints": _endpoint,
    "webhook_events": _event,
    "webhook_deliveries": _delivery,
    "mqtt_publish_settings": _mqtt_publish,
}
