"""On the dashboard: the signed-in user's overdue CAPA actions (hidden when they have none).

Overdue is judged by the site's calendar (the first site's, as the dashboard opens on it): an
action due today is not late yet at a site whose day has not ended, whatever the UTC date.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from textual import work
from textual.markup import escape as plain
from textual.timer import Timer
from textual.widgets import Static

from factoryos.client import ClientError
from factoryos.nonconformances.capa_models import ActionOut

INSPECT = "quality.inspect"  # who reads CAPAs at all
POLL_SECONDS = 60.0
OPEN_KEYS = "q on the home screen, then F3"


class CapaDueLine(Static):
    DEFAULT_CSS = """
    CapaDueLine { height: auto; max-height: 2; padding: 0 1; color: $text-error; display: none; }
    CapaDueLine.-due { display: block; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__("", **kw)
        self.overdue: list[ActionOut] = []
        self.zone: tzinfo | None = None
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        session = getattr(self.app, "session", None)
        if session is not None and session.can(INSPECT):
            self.poll()

    @work(exclusive=True, group="capa-due", exit_on_error=False)
    async def poll(self) -> None:
        session = getattr(self.app, "session", None)
        if session is None:
            return
        try:
            if self.zone is None:
                sites = await session.api.sites()
                self.zone = ZoneInfo(sites[0].timezone) if sites else ZoneInfo("UTC")
            actions = await session.api.capa_actions(owner="me", open_only=True)
        except ClientError as exc:
            if not exc.transient:  # not licensed or not allowed: the line stays hidden
                return
        else:
            self.overdue = overdue_in(actions, datetime.now(self.zone).date())
            self.set_class(bool(self.overdue), "-due")
            self.update(due_text(self.overdue))
        if self.is_attached:
            self._timer = self.set_timer(POLL_SECONDS, self.poll)


def overdue_in(actions: list[ActionOut], today: date) -> list[ActionOut]:
    """Open actions whose due date is before `today` (the site's date), soonest due first."""
    return sorted((a for a in actions if a.done_at is None and a.due_date < today),
                  key=lambda a: (a.due_date, a.capa_code))


def due_text(overdue: list[ActionOut]) -> str:
    """"⚑ 2 CAPA actions of yours overdue: CAPA-0003 Replace the gauge, due Mon 30 Nov · q on …"."""
    if not overdue:
        return ""
    first = overdue[0]
    what = first.description if len(first.description) <= 40 else first.description[:39] + "…"
    count = f"{len(overdue)} CAPA action{'s' if len(overdue) > 1 else ''} of yours overdue"
    return (f"[b]⚑ {count}[/b]: {plain(first.capa_code)} {plain(what)}, due {first.due_date:%a %d %b}"
            f" · {OPEN_KEYS}")
