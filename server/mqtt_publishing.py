"""The MQTT publisher as a task of the server's lifespan, with what it publishes: the live view.

The publisher itself (`factoryos.integrations.mqtt_publisher`) knows brokers and payloads; what a
machine "is" right now comes from the live view behind `/production/live`, read here so that the
core's integrations package does not depend on the live view (which depends on it). It runs in the
one server process with the duties, like the webhook delivery worker: one MQTT session per company.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Engine, text

from factoryos.background import running
from factoryos.config import Settings
from factoryos.db.tenant import tenant_transaction
from factoryos.identity.keys import DerivedKeys
from factoryos.integrations.mqtt_publish import topic_safe
from factoryos.integrations.mqtt_publisher import NO_LINE, MachineView, MqttPublisher
from factoryos.keys import secret_key
from factoryos.live.models import LiveMachine, LiveQuery
from factoryos.live.view import live_view


def _ms(at: datetime | None) -> int | None:
    return int(at.timestamp() * 1000) if at is not None else None


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def machine_view(site: str, line: str, m: LiveMachine) -> MachineView:
    code = topic_safe(m.code)
    shift = m.shift.name if m.shift is not None else None
    state = {"state": m.state, "since": _iso(m.state_since), "raw_code": m.raw_code, "machine": m.code,
             "name": m.name}
    counts = {"good": m.good_count, "scrap": m.reject_count, "target": m.target_quantity, "shift": shift,
              "shift_started_at": _iso(m.shift.starts_at) if m.shift is not None else None}
    o = m.order
    order = None if o is None else {
        "order_number": o.order_number, "product": o.product, "product_number": o.product_number,
        "operation": o.operation, "operation_seq": o.operation_seq, "good": o.good, "scrap": o.scrap,
        "ordered": o.ordered, "progress": o.progress, "run_started_at": _iso(o.run_started_at),
        "expected_finish": _iso(o.expected_finish)}
    k = m.kpis
    oee = {"oee": k.oee if k else None, "availability": k.availability if k else None,
           "performance": k.performance if k else None, "quality": k.quality if k else None, "shift": shift}
    metrics = {
        "Machine/Name": m.name, "State": m.state, "State/Code": m.raw_code, "State/Since": _ms(m.state_since),
        "Counts/Good": m.good_count, "Counts/Scrap": m.reject_count, "Counts/Target": m.target_quantity,
        "Shift": shift, "Order/Number": o.order_number if o else None, "Order/Product": o.product if o else None,
        "Order/Operation": o.operation if o else None, "Order/Good": o.good if o else None,
        "Order/Scrap": o.scrap if o else None, "Order/Quantity": o.ordered if o else None,
        "OEE/OEE": oee["oee"], "OEE/Availability": oee["availability"],
        "OEE/Performance": oee["performance"], "OEE/Quality": oee["quality"],
    }
    return MachineView(m.machine_id, f"{site}/{line}/{code}", f"{site}:{code}", state, counts, order, oee, metrics)


def read_company(engine: Engine, tenant_id: UUID, now: datetime | None = None) -> list[MachineView]:
    """Every active machine of the company as it stands now, site by site (one tenant transaction)."""
    at = now or datetime.now(UTC)
    out: list[MachineView] = []
    with tenant_transaction(engine, tenant_id) as conn:
        sites = conn.execute(text("select id, code from sites where tenant_id = :t order by code"),
                             {"t": tenant_id}).all()
        lines: dict[UUID, str] = dict(conn.execute(text("select id, code from lines where tenant_id = :t"),
                                                   {"t": tenant_id}).all())
        for site_id, site_code in sites:
            view = live_view(conn, tenant_id, LiveQuery(site_id=site_id), at)
            site = topic_safe(site_code)
            for m in view.machines:
                line = topic_safe(lines[m.line_id]) if m.line_id in lines else NO_LINE
                out.append(machine_view(site, line, m))
    return out


@asynccontextmanager
async def mqtt_publishing(settings: Settings, engine: Engine, *, enabled: bool) -> AsyncIterator[MqttPublisher | None]:
    """Publish to the companies' brokers while the server runs; `enabled` in the process with the
    duties only (every process would otherwise open the same sessions)."""
    if not enabled:
        yield None
        return
    publisher = MqttPublisher(engine, DerivedKeys.from_secret(secret_key(settings)), read_company,
                              reload_interval=settings.mqtt_publish_reload_seconds)
    async with running(publisher.run_forever(), "mqtt publishing"):
        yield publisher
