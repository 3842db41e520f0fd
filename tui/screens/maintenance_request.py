"""One key at the operator screen raises a maintenance request for the machine typed there.

When the machine is stopped (an open downtime, or a stop still waiting for its reason) the
request is corrective and linked to that stop, so its repair time is booked against it; else
it is a plain request, and the operator first says what is wrong (a request that only names
the machine tells maintenance nothing, and a second press would raise it twice). A planner
approves it (a technician's own request starts approved).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from factoryos.client import ClientError
from tui.errors import describe

if TYPE_CHECKING:
    from factoryos.client.models import MachineOut
    from factoryos.maintenance.models import WorkOrderOut
    from tui.screens.operator import OperatorScreen

RECENT = timedelta(hours=8)  # a stop older than this is not what the operator is reporting now
TITLE_MAX = 200  # the server's limit for a work order's title


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
            _ask_what_is_wrong(screen, machine)
            return
    except ClientError as exc:
        if exc.code == "downtime_already_linked":
            screen._result(f"Maintenance already knows about this stop: {describe(exc).message}", "info")
            return
        screen._result(describe(exc).message, "error")
        return
    screen._result(raised(wo), "ok")


def raised(wo: WorkOrderOut) -> str:
    state = "waits for approval" if wo.status == "requested" else "approved"
    linked = " for this stop" if wo.downtime_id else ""
    return f"Maintenance request {wo.number}{linked} raised: {state}."


def _ask_what_is_wrong(screen: OperatorScreen, machine: MachineOut) -> None:
    """The machine runs: what the operator says is wrong is the request's title (Esc raises nothing)."""
    from tui.screens.reason_form import ReasonForm

    made: list[WorkOrderOut] = []

    async def save(body: dict[str, str | None]) -> None:
        what = body["reason"] or ""
        title = f"{machine.code}: {what}"
        made.append(await screen.api.request_maintenance(
            title[:TITLE_MAX], machine_id=machine.id, description=what if len(title) > TITLE_MAX else None))

    def done(body: dict[str, str | None] | None) -> None:
        if body is not None and made:
            screen._result(raised(made[-1]), "ok")

    screen.app.push_screen(ReasonForm(f"Maintenance request for {machine.code}: what is wrong?",
                                      placeholder="e.g. noise from the spindle, coolant leak, worn tool",
                                      required="Say what is wrong: it is what maintenance reads first.",
                                      save=save), done)
