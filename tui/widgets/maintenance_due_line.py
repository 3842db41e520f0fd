"""On the dashboard: machines whose maintenance is due or coming due (hidden when none)."""

from __future__ import annotations

from uuid import UUID

from textual import work
from textual.timer import Timer
from textual.widgets import Static

from factoryos.client import ClientError
from factoryos.maintenance.models import PlanOut
from tui.markup import escape as plain

VIEW = "maintenance.view"
POLL_SECONDS = 60.0


class DueMaintenanceLine(Static):
    DEFAULT_CSS = """
    DueMaintenanceLine { height: auto; max-height: 3; padding: 0 1; color: $text-warning; display: none; }
    DueMaintenanceLine.-due { display: block; }
    DueMaintenanceLine.-overdue { color: $text-error; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__("", **kw)
        self.plans: list[PlanOut] = []
        self.machine_ids: set[UUID] | None = None  # the machines shown with it; None: every plan
        self._timer: Timer | None = None

    def show_for(self, machine_ids: set[UUID]) -> None:
        """Only the plans of these machines (the dashboard's site or line), not the whole company's."""
        if machine_ids != self.machine_ids:
            self.machine_ids = machine_ids
            self._draw()

    def _draw(self) -> None:
        shown = [p for p in self.plans if self.machine_ids is None or p.machine_id in self.machine_ids]
        self.set_class(bool(shown), "-due")
        self.set_class(any(p.state == "due" for p in shown), "-overdue")
        self.update(due_text(shown))

    def on_mount(self) -> None:
        session = getattr(self.app, "session", None)
        if session is not None and session.can(VIEW):
            self.poll()

    @work(exclusive=True, group="due-maintenance", exit_on_error=False)
    async def poll(self) -> None:
        session = getattr(self.app, "session", None)
        if session is None:
            return
        try:
            plans = await session.api.maintenance_due()
        except ClientError as exc:
            if not exc.transient:  # not licensed or not allowed: the line stays hidden
                return
        else:
            self.plans = [p for p in plans if p.state in ("due", "soon")]
            self._draw()
        if self.is_attached:
            self._timer = self.set_timer(POLL_SECONDS, self.poll)


def due_text(plans: list[PlanOut]) -> str:
    """"Maintenance due: IMM-01 Service, …; soon: CNC-01 Spindle check" (at most three each)."""
    parts = []
    for state, label in (("due", "Maintenance due"), ("soon", "Maintenance soon")):
        named = [f"{plain(p.asset_name)} {plain(p.name)}" for p in plans if p.state == state]
        if named:
            more = f" and {len(named) - 3} more" if len(named) > 3 else ""
            parts.append(f"{label}: {', '.join(named[:3])}{more}")
    return " · ".join(parts) + (" — 9 on the home screen" if parts else "")
