"""Reports: choose the kind, a site or line, the period and the format; the file is streamed
to where the user says, with a progress bar, in a worker (input stays live meanwhile).

The server renders the whole report before the first byte, so the bar pulses while it
"generates" and counts bytes once the download starts.
"""

from __future__ import annotations

import asyncio
import io
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, ProgressBar, Select, Static

from factoryos.client import ClientError, SessionEnded
from factoryos.client.api_reports import FORMATS, TOPICS, Download, ReportRequest, download_report
from factoryos.client.models import LineOut, ShiftInstanceOut, ShiftPatternOut, SiteOut
from tui.screens.base import AppScreen
from tui.screens.confirm import Confirm
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header

TOPIC_LABELS = {
    "production": "Production OEE", "machines": "Machines", "shifts": "Shifts",
    "operators": "Operators", "rejections": "Rejections", "downtime": "Downtime (Pareto)",
}
PERIODS = (("One day", "day"), ("One shift", "shift"), ("From – to", "range"))
# The field a refusal names (this form's own or the server's) → the input it is said under.
FIELD_OF = {"date": "r-date", "day": "r-date", "from": "r-date", "start": "r-date", "to": "r-to", "end": "r-to",
            "shift": "r-shift", "site_id": "r-site", "line_id": "r-line", "path": "r-path"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def parse_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ClientError("invalid_date", f"{field}: use YYYY-MM-DD, e.g. 2026-03-02", field=field) from None


def file_name(*parts: str) -> str:
    return "-".join(_UNSAFE.sub("-", p).strip("-") for p in parts if p)


def target_path(text: str, suggested: str) -> Path:
    """Where to save: the path typed (a folder gets `suggested` in it); its folder must exist."""
    if not text.strip():
        raise ClientError("path_required", "enter where to save the report", field="path")
    path = Path(text.strip()).expanduser()
    if text.strip().endswith(("/", "\\")) or path.is_dir():
        path = path / suggested
    if not path.parent.is_dir():
        raise ClientError("folder_not_found", f"the folder {path.parent} does not exist", field="path")
    return path


class ReportsScreen(AppScreen):
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("ctrl+s", "download", "Download", tooltip="Generate the report and save it.", id="download"),
    ]
    HELP = """\
**Reports**

Choose the report, the site (or one line), the period and the format, then **Ctrl+S**.
A period is one day, one shift on a date (the shift's name; first the one running now, on
the date it started), or from–to dates (both included). Dates are `YYYY-MM-DD` in the site's time zone. The file goes where **Save as**
says; a folder gets the suggested file name, and the default is the current folder. In a
browser, the file goes to the browser's downloads.
"""

    def __init__(self) -> None:
        super().__init__()
        self.sites: list[SiteOut] = []
        self.lines: list[LineOut] = []
        self.patterns: list[ShiftPatternOut] = []
        self.running: ShiftInstanceOut | None = None  # the chosen site's shift running now
        self._auto_path = ""
        self._auto_date = ""  # the date filled in for the user (changed with the choices until they type)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="report-form"):
            with Horizontal(classes="form-row"):
                yield Label("Report", classes="form-label")
                yield Select([(TOPIC_LABELS[t], t) for t in TOPICS], value="production", allow_blank=False,
                             id="r-topic")
                yield Label("Format", classes="form-label short")
                yield Select([(f.upper(), f) for f in FORMATS], value="pdf", allow_blank=False, id="r-format")
            with Horizontal(classes="form-row"):
                yield Label("Site", classes="form-label")
                yield Select[UUID]([], prompt="loading…", id="r-site")
                yield Label("Line", classes="form-label short")
                yield Select[UUID]([], prompt="whole site", id="r-line")
            yield FieldError(id="r-site-error")
            yield FieldError(id="r-line-error")
            with Horizontal(classes="form-row"):
                yield Label("Period", classes="form-label")
                yield Select(PERIODS, value="day", allow_blank=False, id="r-period")
                yield Label("Shift", classes="form-label short", id="r-shift-label")
                yield Select[str]([], prompt="no shifts", id="r-shift")
            yield FieldError(id="r-shift-error")
            with Horizontal(classes="form-row"):
                yield Label("Date", classes="form-label", id="r-date-label")
                yield Input(placeholder="YYYY-MM-DD", id="r-date")
                yield Label("To", classes="form-label short", id="r-to-label")
                yield Input(placeholder="YYYY-MM-DD", id="r-to")
            yield FieldError(id="r-date-error")
            yield FieldError(id="r-to-error")
            with Horizontal(classes="form-row", id="r-path-row"):
                yield Label("Save as", classes="form-label")
                yield Input(placeholder="file or folder", id="r-path")
            yield FieldError(id="r-path-error")
            with Horizontal(classes="form-row"):
                yield Button("Download (Ctrl+S)", variant="primary", id="r-download")
                yield ProgressBar(total=None, show_eta=False, id="r-progress")
            yield Static("", id="r-status")
        yield Footer()

    def on_mount(self) -> None:
        self._show_period("day")
        self.query_one("#r-progress").display = False
        if self.app.is_web:  # this process's folders are the server host's: the browser saves the file
            self.query_one("#r-path-row").display = False
        self.load_sites()

    # -- choices ----------------------------------------------------------------------------

    @work(exclusive=True, group="report-sites", exit_on_error=False)
    async def load_sites(self) -> None:
        self.sites, self.lines = await asyncio.gather(self.api.sites(), self.api.lines())
        select = self.query_one("#r-site", Select)
        if not self.sites:
            select.prompt = "no sites yet"
            return
        select.set_options((f"{s.code} · {s.name}", s.id) for s in self.sites)
        select.value = self.sites[0].id

    @property
    def site(self) -> SiteOut | None:
        value = self.query_one("#r-site", Select).value
        return next((s for s in self.sites if s.id == value), None)

    @property
    def line(self) -> LineOut | None:
        value = self.query_one("#r-line", Select).value
        return next((line for line in self.lines if line.id == value), None)

    @on(Select.Changed, "#r-site")
    def _site_changed(self) -> None:
        site = self.site
        lines = self.query_one("#r-line", Select)
        lines.set_options((f"{line.code} · {line.name}", line.id) for line in self.lines
                          if site is not None and line.site_id == site.id)
        date_field = self.query_one("#r-date", Input)
        if site is not None and not date_field.value:
            date_field.value = self._auto_date = datetime.now(ZoneInfo(site.timezone)).date().isoformat()
        if site is not None:
            self.load_shifts(site.id)
        self._suggest_path()

    @work(exclusive=True, group="report-shifts", exit_on_error=False)
    async def load_shifts(self, site_id: UUID) -> None:
        site = next(s for s in self.sites if s.id == site_id)
        today = datetime.now(ZoneInfo(site.timezone)).date()
        patterns, instances = await asyncio.gather(self.api.shift_patterns(site_id=site_id),
                                                   self.api.shift_instances(site_id, today - timedelta(days=1), today))
        self.patterns = [p for p in patterns if p.active]
        now = datetime.now(UTC)
        self.running = next((i for i in instances if i.starts_at <= now < i.ends_at), None)
        shift = self.query_one("#r-shift", Select)
        shift.set_options((p.name, p.name) for p in self.patterns)
        if self.patterns:
            shift.value = self.patterns[0].name
        if self.query_one("#r-period", Select).value == "shift":
            self._suggest_shift()
        self._suggest_path()

    def _suggest_shift(self) -> None:
        """One shift: the one running now, on the date it started (a night shift's is yesterday after
        midnight), unless the user typed a date of their own."""
        running, date_field = self.running, self.query_one("#r-date", Input)
        if running is None or date_field.value.strip() not in ("", self._auto_date):
            return
        if any(p.name == running.name for p in self.patterns):
            self.query_one("#r-shift", Select).value = running.name
        date_field.value = self._auto_date = running.local_date.isoformat()

    @on(Select.Changed, "#r-period")
    def _period_changed(self, event: Select.Changed) -> None:
        self._show_period(str(event.value))
        if event.value == "shift":
            self._suggest_shift()
        self._suggest_path()

    def _show_period(self, period: str) -> None:
        for selector in ("#r-shift-label", "#r-shift"):
            self.query_one(selector).display = period == "shift"
        for selector in ("#r-to-label", "#r-to"):
            self.query_one(selector).display = period == "range"
        self.query_one("#r-date-label", Label).update("From" if period == "range" else "Date")

    @on(Select.Changed, "#r-topic, #r-format, #r-line, #r-shift")
    @on(Input.Changed, "#r-date, #r-to")
    def _choice_changed(self) -> None:
        self._suggest_path()

    def _suggest_path(self) -> None:
        """Keep the default file name in step with the choices until the user types their own."""
        field = self.query_one("#r-path", Input)
        if field.value and field.value != self._auto_path:
            return
        self._auto_path = self.default_name()
        field.value = self._auto_path

    def default_name(self) -> str:
        site, line = self.site, self.line
        period = str(self.query_one("#r-period", Select).value)
        day = self.query_one("#r-date", Input).value.strip()
        if period == "shift":
            shift = self.query_one("#r-shift", Select).value
            span = file_name(day, str(shift) if isinstance(shift, str) else "")
        elif period == "range":
            span = f"{day}_{self.query_one('#r-to', Input).value.strip()}"
        else:
            span = day
        topic, fmt = self.query_one("#r-topic", Select).value, self.query_one("#r-format", Select).value
        stem = file_name(str(topic), site.code if site else "", line.code if line else "", span)
        return f"{stem}.{fmt}"

    # -- download ---------------------------------------------------------------------------

    def request(self) -> ReportRequest:
        site = self.site
        if site is None:
            raise ClientError("scope_required", "choose the site", field="site_id")
        line = self.line
        period = str(self.query_one("#r-period", Select).value)
        first = parse_date(self.query_one("#r-date", Input).value, "from" if period == "range" else "date")
        common = {"topic": str(self.query_one("#r-topic", Select).value),
                  "format": str(self.query_one("#r-format", Select).value),
                  "site_id": None if line else site.id, "line_id": line.id if line else None}
        if period == "range":
            last = parse_date(self.query_one("#r-to", Input).value, "to")
            if last < first:
                raise ClientError("period_invalid", "to: the last day comes before the first", field="to")
            return ReportRequest(**common, start=first.isoformat(), end=last.isoformat())
        if period == "shift":
            shift = self.query_one("#r-shift", Select).value
            if not isinstance(shift, str):
                raise ClientError("shift_required", "choose the shift (this site has none yet)", field="shift")
            return ReportRequest(**common, day=first, shift=shift)
        return ReportRequest(**common, day=first)

    def _say(self, exc: ClientError) -> None:
        """The refusal under the field it names (marked and focused); one naming none as a notice."""
        text = exc.detail[:1].upper() + exc.detail[1:].rstrip(".") + "."
        field = FIELD_OF.get(exc.field or "")
        if field is None:
            self.notify(text, title="Check the form", severity="error")
            return
        self.query_one(f"#{field}-error", FieldError).show(text)
        widget = self.query_one(f"#{field}")
        widget.add_class("-invalid")
        widget.focus()

    def _clear_errors(self) -> None:
        for line in self.query(FieldError):
            line.clear()
        for widget in self.query(".-invalid"):
            widget.remove_class("-invalid")

    @on(Button.Pressed, "#r-download")
    def action_download(self) -> None:
        self._clear_errors()
        try:
            request = self.request()
            if self.app.is_web:  # this process's folders are the server host's: the browser gets the file
                self.download_to_browser(request, self.default_name())
                return
            target = target_path(self.query_one("#r-path", Input).value, self.default_name())
        except ClientError as exc:
            self._say(exc)
            return
        if target.exists():
            def answer(yes: bool | None) -> None:
                if yes:
                    self.download(request, target)

            self.app.push_screen(Confirm(f"{target} exists. Replace it?", "Replace"), answer)
            return
        self.download(request, target)

    @work(exclusive=True, group="report-download", exit_on_error=False)
    async def download(self, request: ReportRequest, target: Path) -> None:
        got = await self._fetch(request, target)
        if got is not None:
            self.query_one("#r-status", Static).update(f"Saved {got.path} ({_size(got.size)}).")
            self.notify(f"Saved {got.path} ({_size(got.size)}).", title="Report saved")

    @work(exclusive=True, group="report-download", exit_on_error=False)
    async def download_to_browser(self, request: ReportRequest, name: str) -> None:
        """Fetched into a private temporary folder, read (a report is kilobytes to a few megabytes) and
        the folder removed; the browser is sent it through textual-serve's single-use link."""
        with tempfile.TemporaryDirectory(prefix="factoryos-report-") as folder:
            got = await self._fetch(request, Path(folder) / name)
            if got is None:
                return
            data = io.BytesIO(got.path.read_bytes())
        self.app.deliver_binary(data, save_filename=name)
        self.query_one("#r-status", Static).update(f"Sent {name} ({_size(got.size)}) to the browser's downloads.")

    async def _fetch(self, request: ReportRequest, target: Path) -> Download | None:
        """The report into `target`, with the progress bar; None when refused (said at its field)."""
        button = self.query_one("#r-download", Button)
        bar = self.query_one("#r-progress", ProgressBar)
        status = self.query_one("#r-status", Static)
        button.disabled = True
        bar.update(total=None, progress=0)
        bar.display = True
        status.update(f"Generating the {TOPIC_LABELS[request.topic].lower()} report…")

        def started(total: int | None) -> None:
            bar.update(total=total, progress=0)
            status.update("Downloading…")

        def received(done: int, total: int | None) -> None:
            bar.update(progress=done)

        try:
            return await download_report(self.api, request, target, on_start=started, progress=received)
        except OSError as exc:
            status.update("")
            self.notify(f"Cannot write the file: {exc.strerror or exc}.", title="Not saved", severity="error")
            return None
        except ClientError as exc:
            status.update("")
            if exc.transient or isinstance(exc, SessionEnded):
                raise  # the app says the server is unreachable, or signs out
            self._say(exc)
            return None
        except BaseException:
            status.update("")
            raise
        finally:
            button.disabled = False
            bar.display = False


def _size(size: int) -> str:
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} bytes"
