"""Open a nonconformance from scrap of the last day, newest first: rejections booked in the shifts
(Enter: the server fills the NC from the rejection: machine, order, parts, reason) and the rejects the
machines' counters counted, per machine, hour and order (Enter: the NC is filled from that hour).
Dismisses with the new NC (None when left with Escape).

Times are the machine's site's clock, and counted scrap comes in that clock's hours (the server groups
it so: 10:00–11:00 at a site at +05:30 too). The hour repeated when summer time ends shows twice, each
with the zone's abbreviation (02:00 CEST, then 02:00 CET). A member of several sites sees the site of
each row and the rows grouped by site, newest first within each, the site with the newest scrap first:
one site's hours then read in order in that site's clock (sites hours apart would otherwise alternate
between clocks, and days, from row to row).

The table fits the dialog's width (80 columns too): long site and machine codes and reasons are cut
with an ellipsis; the line under the table shows the highlighted row in full."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from factoryos.client import ClientError, FactoryClient
from factoryos.client.models import MachineOut, RejectionOut, SiteOut
from factoryos.nonconformances.nc_models import NcOut
from factoryos.nonconformances.scrap_models import MachineScrapOut
from factoryos.site_time import site_clock
from tui.errors import describe
from tui.markup import escape
from tui.widgets.field_error import FieldError

LOOK_BACK = timedelta(hours=24)
MAX_ROWS = 100

Scrap = RejectionOut | MachineScrapOut


def when(row: Scrap) -> datetime:
    return row.occurred_at if isinstance(row, RejectionOut) else row.start


def cut(text: str, width: int, middle: bool = False) -> str:
    """`text` in at most `width` cells, with an ellipsis where it was cut: at the end, or in the `middle`
    for codes (their ends tell machines apart: CELL-4-SPINDLE-A, CELL-4-SPINDLE-B)."""
    if cell_len(text) <= width:
        return text
    if middle and width >= 3:  # codes are ASCII: a character is a cell
        tail = (width - 1) // 2
        return text[:width - 1 - tail] + "…" + text[len(text) - tail:]
    short = Text(text)
    short.truncate(width, overflow="ellipsis")
    return short.plain


# Which column gives way first when the row is wider than the table, and how far: the site (rows are
# grouped by site), then the machine's code, then the reason; then all of them again, to what still reads.
CUTS = (("Site", 10), ("Machine", 16), ("Reason", 16), ("Site", 4), ("Machine", 6), ("Reason", 6))


def fit(natural: Sequence[int], labels: Sequence[str], room: int) -> list[int]:
    """Column widths in `room` cells: `natural` cut in the order CUTS gives."""
    widths = list(natural)
    over = sum(widths) - room
    for label, floor in CUTS:
        if over <= 0 or label not in labels:
            continue
        i = labels.index(label)
        take = min(over, max(widths[i] - floor, 0))
        widths[i] -= take
        over -= take
    return widths


def by_site(rows: Sequence[Scrap], site_of: Callable[[Scrap], UUID | None]) -> list[Scrap]:
    """`rows` newest first within each site, the site with the newest row first."""
    newest = sorted(rows, key=when, reverse=True)
    rank: dict[UUID | None, int] = {}
    for row in newest:
        rank.setdefault(site_of(row), len(rank))
    return sorted(newest, key=lambda row: rank[site_of(row)])  # stable: newest first within a site


class RejectionPicker(ModalScreen[NcOut | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Leave without opening an NC.", id="cancel")]
    # The gutter stays whether rows scroll or not, so the widths fitted to the table hold either way.
    DEFAULT_CSS = """
    RejectionPicker #rj-table { height: 1fr; min-height: 4; scrollbar-gutter: stable; }
    RejectionPicker #rj-detail { height: auto; max-height: 3; }
    """

    def __init__(self, api: FactoryClient, sites: list[SiteOut], machines: list[MachineOut], *,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__()
        self.api = api
        self.sites = sites
        self.machines = {m.id: m for m in machines}
        self.now = now
        self.rows: list[Scrap] = []
        self.reasons: dict[UUID, str] = {}
        self._sending = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall wide"):  # wide: a site column still fits at 80 columns
            yield Static("Nonconformance from a rejection or counted scrap", classes="dialog-title")
            yield Static("Loading the last day's scrap…", id="rj-hint")
            yield DataTable(id="rj-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="rj-detail")
            yield FieldError(id="rj-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rj-table", DataTable).add_columns(*self.labels)
        self.load()

    @property
    def labels(self) -> tuple[str, ...]:
        return ("Site", "Site time", "Machine", "Parts", "Reason") if self.many_sites else (
            "When", "Machine", "Parts", "Reason")

    @property
    def many_sites(self) -> bool:
        return len(self.sites) > 1

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _site(self, machine_id: UUID) -> SiteOut | None:
        machine = self.machines.get(machine_id)
        return next((s for s in self.sites if machine and s.id == machine.site_id), None)

    def _site_id(self, row: Scrap) -> UUID | None:
        site = self._site(row.machine_id)
        return site.id if site else None

    def _zone(self, row: Scrap) -> ZoneInfo:
        site = self._site(row.machine_id)
        return ZoneInfo(site.timezone if site else "UTC")

    def _what(self, row: Scrap) -> str:
        if isinstance(row, RejectionOut):
            return self.reasons.get(row.reason_id, "?") + (f" · {row.note}" if row.note else "")
        return "Counted by the machine"  # the hour the time shows (the detail line: until when)

    def _cells(self, row: Scrap) -> list[str]:
        machine = self.machines.get(row.machine_id)
        site = self._site(row.machine_id)
        cells = [site_clock(when(row), self._zone(row), "%a %H:%M"), machine.code if machine else "?",
                 str(row.quantity), self._what(row)]
        return [site.code if site else "?", *cells] if self.many_sites else cells

    async def _recent(self) -> list[RejectionOut]:
        """Rejections of the shifts that ran in the last day (a rejection belongs to a shift instance)."""
        now = self.now()
        today = now.date()
        instances = []
        for site in self.sites:
            instances += await self.api.shift_instances(site.id, today - timedelta(days=1), today + timedelta(days=1))
        ids = [s.id for s in instances if s.id is not None and s.starts_at <= now and s.ends_at >= now - LOOK_BACK]
        found = await asyncio.gather(*(self.api.rejections(shift_instance_id=i) for i in ids))
        return [r for part in found for r in part if r.occurred_at >= now - LOOK_BACK]

    async def _counted(self) -> list[MachineScrapOut]:
        """Rejects the machines of these sites counted in the last day."""
        now = self.now()
        return [s for s in await self.api.machine_scrap(now - LOOK_BACK, now) if s.machine_id in self.machines]

    @work(exclusive=True, group="rejections", exit_on_error=False)
    async def load(self) -> None:
        hint = self.query_one("#rj-hint", Static)
        try:
            booked, counted, reasons = await asyncio.gather(self._recent(), self._counted(),
                                                            self.api.reasons(active=None))
        except ClientError as exc:
            hint.update(f"Cannot load the scrap: {describe(exc).message}")
            return
        self.reasons = {r.id: r.name for r in reasons}
        scrap: list[Scrap] = [*booked, *counted]
        newest = sorted(scrap, key=when, reverse=True)[:MAX_ROWS]
        self.rows = by_site(newest, self._site_id)
        self._fill()
        if self.rows:
            hint.update("[b]Enter[/b] opens an NC for the highlighted scrap · Esc back")
            self.query_one("#rj-table", DataTable).focus()
        else:
            hint.update("No scrap was booked or counted in the last day. Esc back; F4 opens an NC by hand.")

    def _fill(self) -> None:
        """The rows, cut to the table's width: nothing to scroll sideways to, at 80 columns too."""
        table = self.query_one("#rj-table", DataTable)
        cells = [self._cells(r) for r in self.rows]
        natural = [max([cell_len(label)] + [cell_len(row[i]) for row in cells])
                   for i, label in enumerate(self.labels)]
        room = table.scrollable_content_region.width - 2 * table.cell_padding * len(self.labels)
        widths = fit(natural, self.labels, room) if room > 0 else natural
        codes = [i for i, label in enumerate(self.labels) if label in ("Site", "Machine")]
        cursor = table.cursor_row
        table.clear(columns=True)  # a column's width otherwise stays at the widest it ever was
        for label, width in zip(self.labels, widths, strict=True):
            table.add_column(label, width=width)
        for index, row in enumerate(cells):
            shown = [cut(cell, width, i in codes) for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
            table.add_row(*shown[:-1], escape(shown[-1]), key=str(index))  # reasons and notes are free text
        if cells:
            table.move_cursor(row=min(cursor, len(cells) - 1))

    def on_resize(self, event: events.Resize) -> None:
        if self.rows:
            self.call_after_refresh(self._fill)  # once the table has its new width

    @on(DataTable.RowHighlighted, "#rj-table")
    def _detail(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted row in full: what the table had to cut."""
        if event.row_key.value is None:
            return
        row = self.rows[int(event.row_key.value)]
        machine, site, zone = self.machines.get(row.machine_id), self._site(row.machine_id), self._zone(row)
        if isinstance(row, RejectionOut):
            at = site_clock(row.occurred_at, zone, "%a %d %b %H:%M")
            what = f"{row.quantity} rejected: {self._what(row)}"
        else:
            at = f"{site_clock(row.start, zone, '%a %d %b %H:%M')}–{site_clock(row.end, zone, '%H:%M')}"
            what = f"{row.quantity} counted by the machine"
        name = f"{machine.code} · {machine.name}" if machine else "?"
        place = f" · {site.name} ({site.code})" if site else ""
        self.query_one("#rj-detail", Static).update(Text(f"{name}{place}\n{at} ({zone.key}) · {what}"))

    @on(DataTable.RowSelected, "#rj-table")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value and not self._sending:
            self._sending = True
            self.send(self.rows[int(event.row_key.value)])

    def _body(self, row: Scrap) -> dict[str, object]:
        if isinstance(row, RejectionOut):
            return {"source": "rejection", "source_id": str(row.id)}
        # Counted scrap is named by machine and hour; the row's own share (one order of the hour) is sent.
        body: dict[str, object] = {"source": "machine_count", "machine_id": str(row.machine_id),
                                   "source_at": row.start.isoformat(), "quantity": row.quantity}
        if row.order_id is not None:
            body |= {"order_id": str(row.order_id), "product_id": str(row.product_id) if row.product_id else None}
        return body

    @work(exclusive=True, group="rejection-nc", exit_on_error=False)
    async def send(self, row: Scrap) -> None:
        try:
            nc = await self.api.open_nonconformance(self._body(row))
        except ClientError as exc:
            self._sending = False
            self.query_one("#rj-error", FieldError).show(describe(exc).message)
            return
        self.dismiss(nc)
