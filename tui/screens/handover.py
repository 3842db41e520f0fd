"""The handover note: what the outgoing shift leaves for the next one, typed at the terminal.

Opened from any screen with Ctrl+T by members who enter production. The note goes to the shift
running now at the chosen site; the shift's notes are listed once it is saved, and printed in
that shift's report.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Select, Static, TextArea

from factoryos.client.api_handover import handover_notes, post_handover_note
from factoryos.client.models import SiteOut
from factoryos.reports.handover_models import NoteOut
from tui.errors import describe

NOTE_MAX = 4000


class HandoverScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", tooltip="Save the note for the shift running now.", id="save"),
        Binding("escape", "close", "Close", tooltip="Close (an unsaved note is dropped).", id="close"),
    ]
    DEFAULT_CSS = """
    #handover-text { height: 1fr; min-height: 4; }
    #handover-error { height: auto; color: $text-error; text-style: bold; }
    #handover-status, #handover-notes { height: auto; }
    #handover-notes { max-height: 6; color: $text-muted; }
    """
    HELP = ("**Handover note**: write what the next shift needs to know (a machine that sticks, material "
            "running low). **Ctrl+S** saves it for the shift running now; it is printed in the shift report.")

    def __init__(self) -> None:
        super().__init__()
        self.sites: list[SiteOut] = []
        self.saved = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall", id="handover"):
            yield Static("Handover note for the next shift", classes="dialog-title")
            yield Select[str]([], prompt="Site", id="handover-site", allow_blank=True)
            yield TextArea(id="handover-text", soft_wrap=True)
            yield Static("", id="handover-error", classes="field-error")
            yield Static("Loading sites…", id="handover-status")
            yield Static("", id="handover-notes")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#handover-site").display = False
        self.query_one("#handover-text", TextArea).focus()
        self.load_sites()

    @property
    def _api(self):  # type: ignore[no-untyped-def]
        return self.app.session.api  # type: ignore[attr-defined]

    @work(exclusive=True, exit_on_error=False, group="handover-sites")
    async def load_sites(self) -> None:
        status = self.query_one("#handover-status", Static)
        try:
            self.sites = await self._api.sites()
        except Exception as exc:  # shown where the user looks, never a traceback
            status.update(Text(describe(exc).message))
            return
        picker = self.query_one("#handover-site", Select)
        picker.set_options([(f"{s.name} ({s.code})", str(s.id)) for s in self.sites])
        if self.sites:
            picker.value = str(self.sites[0].id)
        picker.display = len(self.sites) > 1
        if not self.sites:
            status.update("No site yet: a note belongs to a site's shift.")
        else:
            where = Text(self.sites[0].name) if len(self.sites) == 1 else Text("the site chosen above")
            status.update(Text.assemble("For the shift running now at ", where, ". Ctrl+S saves it."))

    def _site(self) -> SiteOut | None:
        value = self.query_one("#handover-site", Select).value
        return next((s for s in self.sites if str(s.id) == value), None)

    def action_save(self) -> None:
        text = self.query_one("#handover-text", TextArea).text.strip()
        error = self.query_one("#handover-error", Static)
        if not text:
            error.update("Write the note first: what does the next shift need to know?")
            return
        if len(text) > NOTE_MAX:
            error.update(f"The note is {len(text)} characters long: keep it under {NOTE_MAX}.")
            return
        site = self._site()
        if site is None:
            error.update("Choose the site first.")
            return
        error.update("")
        self.send(site, text)

    @work(exclusive=True, exit_on_error=False, group="handover-send")
    async def send(self, site: SiteOut, text: str) -> None:
        status = self.query_one("#handover-status", Static)
        status.update("Sending…")
        try:
            note = await post_handover_note(self._api.t, text, site_id=site.id)
            notes = await handover_notes(self._api.t, note.shift_instance_id)
        except Exception as exc:
            status.update("")
            problem = describe(exc)
            self.query_one("#handover-error", Static).update(Text(problem.message))
            return
        self.saved = True
        self.query_one("#handover-text", TextArea).clear()
        zone = ZoneInfo(site.timezone)
        status.update(f"Saved for the shift running now at {site.name}.")
        self.query_one("#handover-notes", Static).update(_listing(notes, zone))

    def action_close(self) -> None:
        self.dismiss(self.saved)


def _listing(notes: list[NoteOut], zone: ZoneInfo) -> Text:
    # Plain text: a note may hold brackets that markup would swallow.
    lines = [f"{n.created_at.astimezone(zone):%H:%M} {n.author}: {n.body}" for n in notes[-5:]]
    return Text("This shift's notes (site time):\n" + "\n".join(lines))
