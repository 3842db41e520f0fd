"""One key at the operator screen raises a maintenance request for the machine typed there.

When the machine is stopped (an open downtime, or a stop still waiting for its reason) the
request is corrective and linked to that stop, so its repair time is booked against it; else
it is a plain request. A planner approves it (a technician's own request starts approved).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from factoryos.client import ClientError
from tui.errors import describe

if TYPE_CHECKING:
    from tui.screens.operator import OperatorScreen

RECENT = timedelta(hours=8)  # a stop older than this is not what the operator is reporting now


def raise_from_operator(screen: OperatorScreen) -> None:
    machine = screen.machine
    if machine is None:
        from tui.widgets.entry_forms import refuse

        refuse(screen, "machine-code", "Type the machine code first: its maintenance request is raised with F12.")
        return
    screen.run_worker(_raise(screen), group="maintenance-request", exclusive=True, exit_on_error=False)


async def _raise(screen: OperatorScreen) -> None:
    machine = screen.machine
    assert machine is not None
    ref = screen.reference
    site = ref.site(machine.site_id) if ref else None
    zone = ZoneInfo(site.timezone) if site else UTC
    try:
        events = await screen.api.downtime(machine_id=machine.id, since=datetime.now(UTC) - RECENT)
        stopped = [e for e in events if e.ended_at is None] or [e for e in events if e.needs_reason]
        stop = max(stopped, key=lambda e: e.started_at) if stopped else None
        if stop is not None:
            title = f"{machine.code} stopped since {stop.started_at.astimezone(zone):%H:%M}"
            wo = await screen.api.request_maintenance(title, downtime_id=stop.id)
        else:
            wo = await screen.api.request_maintenance(f"Problem reported at {machine.code}", machine_id=machine.id)
    except ClientError as exc:
        if exc.code == "downtime_already_linked":
            screen._result(f"Maintenance already knows about this stop: {describe(exc).message}", "info")
            return
        screen._result(describe(exc).message, "error")
        return
    state = "waits for approval" if wo.status == "requested" else "approved"
    linked = " for this stop" if wo.downtime_id else ""
    screen._result(f"Maintenance request {wo.number}{linked} raised: {state}.", "ok")
