"""The webhook events, one builder each: what a receiver gets in `data` (ids, codes, instants)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from factoryos.integrations.outbox import Fact


def state_changed(machine_id: UUID, machine_code: str, state: str, previous: str | None, raw_code: int | None,
                  at: datetime) -> Fact:
    """The machine entered another state (running, idle, a stop, setup, offline, no data)."""
    return Fact("machine.state_changed", at, {"machine_id": machine_id, "machine_code": machine_code, "state": state,
                                              "previous_state": previous, "raw_code": raw_code, "at": at})


def downtime_started(machine_id: UUID, started_at: datetime, ended_at: datetime | None,
                     state_interval_id: UUID | None, source: str = "machine") -> Fact:
    """A stop reached the site's micro-stop threshold (source `machine`: it needs a reason), or an
    operator recorded downtime (source `manual`)."""
    return Fact("downtime.started", started_at, {"machine_id": machine_id, "started_at": started_at,
                                                 "ended_at": ended_at, "state_interval_id": state_interval_id,
                                                 "source": source})


def downtime_opened(machine_id: UUID, started_at: datetime, ended_at: datetime | None,
                    state_interval_id: UUID | None, source: str = "machine") -> list[Fact]:
    """Downtime as it is stored: started, and ended too when the stop was already over."""
    opened = [downtime_started(machine_id, started_at, ended_at, state_interval_id, source)]
    if ended_at is not None:
        opened.append(downtime_ended(machine_id, started_at, ended_at, state_interval_id, source))
    return opened


def downtime_ended(machine_id: UUID, started_at: datetime, ended_at: datetime,
                   state_interval_id: UUID | None, source: str = "machine") -> Fact:
    return Fact("downtime.ended", ended_at, {"machine_id": machine_id, "started_at": started_at, "ended_at": ended_at,
                                             "state_interval_id": state_interval_id, "source": source})


def downtime_reasoned(downtime_id: UUID, machine_id: UUID, started_at: datetime, ended_at: datetime | None,
                      reason_id: UUID, planned: bool, at: datetime) -> Fact:
    """Someone gave a downtime event its reason (which also says whether it was planned)."""
    return Fact("downtime.reasoned", at, {"downtime_id": downtime_id, "machine_id": machine_id,
                                          "started_at": started_at, "ended_at": ended_at, "reason_id": reason_id,
                                          "planned": planned})


def anomaly_recorded(anomaly_id: UUID, machine_id: UUID, signal: str, delta: int, allowed: int,
                     detected_at: datetime) -> Fact:
    """A counter jumped more than the machine could make: it waits for a decision."""
    return Fact("anomaly.recorded", detected_at, {"anomaly_id": anomaly_id, "machine_id": machine_id, "signal": signal,
                                                  "delta": delta, "allowed": allowed, "detected_at": detected_at})


def order_status_changed(order_id: UUID, order_number: str, status: str, previous: str, at: datetime) -> Fact:
    """An order was released, started, paused, completed or cancelled (by hand or by its runs)."""
    return Fact("order.status_changed", at, {"order_id": order_id, "order_number": order_number, "status": status,
                                             "previous_status": previous})


def work_order_due(order_id: UUID, number: str, plan_id: UUID, asset_id: UUID, machine_id: UUID | None,
                   title: str, trigger: str, due_at: datetime, at: datetime) -> Fact:
    """A maintenance plan fell due (by calendar, run hours or cycles): its preventive work order was made."""
    return Fact("work_order.due", at, {"work_order_id": order_id, "number": number, "plan_id": plan_id,
                                       "asset_id": asset_id, "machine_id": machine_id, "title": title,
                                       "trigger": trigger, "due_at": due_at})
