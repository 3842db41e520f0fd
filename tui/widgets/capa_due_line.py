"""On the dashboard: the signed-in user's overdue CAPA actions (hidden when they have none).

Overdue is the server's word, judged by each action's own site calendar (its CAPA's first NC's
machine's site): an action due today is not late yet at a site whose day has not ended, whatever
the UTC date or the site the dashboard shows.
"""

from __future__ import annotations

from textual import work
from textual.timer import Timer
from textual.widgets import Static

from factoryos.client import ClientError
from factoryos.nonconformances.capa_models import ActionOut
from tui.markup import escape as plain

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
        self.read_once = False  # the actions were read at least once
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
            actions = await session.api.capa_actions(owner="me", overdue=True)
        except ClientError as exc:
            if not exc.transient:  # not licensed or not allowed: the line stays hidden
                return
        else:
            self.overdue = overdue_in(actions)
            self.read_once = True
            self.set_class(bool(self.overdue), "-due")
            self.update(due_text(self.overdue))
        if self.is_attached:
            self._timer = self.set_timer(POLL_SECONDS, self.poll)


def overdue_in(actions: list[ActionOut]) -> list[ActionOut]:
    """The late ones (in their site's time), soonest due first."""
    return sorted((a for a in actions if a.overdue and a.done_at is None), key=lambda a: (a.due_date, a.capa_code))


def due_text(overdue: list[ActionOut]) -> str:
    """"⚑ 2 CAPA actions of yours overdue: CAPA-0003 Replace the gauge, due Mon 30 Nov · q on …"."""
    if not overdue:
        return ""
    first = overdue[0]
    what = first.description if len(first.description) <= 40 else first.description[:39] + "…"
    count = f"{len(overdue)} CAPA action{'s' if len(overdue) > 1 else ''} of yours overdue"
    return (f"[b]⚑ {count}[/b]: {plain(first.capa_code)} {plain(what)}, due {first.due_date:%a %d %b}"
            f" · {OPEN_KEYS}")
