"""Open a nonconformance from scrap of the last day, newest first: rejections booked in the shifts
(Enter: the server fills the NC from the rejection: machine, order, parts, reason) and the rejects the
machines' counters counted, per machine, hour and order (Enter: the NC is filled from that hour).
Dismisses with the new NC (None when left with Escape).

Times are the machine's site's clock. A member of several sites sees the site of each row and the rows
grouped by site, newest first within each, the site with the newest scrap first: one site's hours then
read in order in that site's clock (sites hours apart would otherwise alternate between clocks, and days,
from row to row)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from factoryos.client import ClientError, FactoryClient
from factoryos.client.models import MachineOut, RejectionOut, SiteOut
from factoryos.nonconformances.nc_models import NcOut
from factoryos.nonconformances.scrap_models import MachineScrapOut
from tui.errors import describe
from tui.widgets.field_error import FieldError

LOOK_BACK = timedelta(hours=24)
MAX_ROWS = 100

Scrap = RejectionOut | MachineScrapOut


def when(row: Scrap) -> datetime:
    return row.occurred_at if isinstance(row, RejectionOut) else row.start


def by_site(rows: Sequence[Scrap], site_of: Callable[[Scrap], UUID | None]) -> list[Scrap]:
    """`rows` newest first within each site, the site with the newest row first."""
    newest = sorted(rows, key=when, reverse=True)
    rank: dict[UUID | None, int] = {}
    for row in newest:
        rank.setdefault(site_of(row), len(rank))
    return sorted(newest, key=lambda row: rank[site_of(row)])  # stable: newest first within a site


class RejectionPicker(ModalScreen[NcOut | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Leave without opening an NC.", id="cancel")]
    DEFAULT_CSS = """
    RejectionPicker #rj-table { height: 1fr; min-height: 4; }
    """

    def __init__(self, api: FactoryClient, sites: list[SiteOut], machines: list[MachineOut]) -> None:
        super().__init__()
        self.api = api
        self.sites = sites
        self.machines = {m.id: m for m in machines}
        self.rows: list[Scrap] = []
        self._sending = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall wide"):  # wide: a site column still fits at 80 columns
            yield Static("Nonconformance from a rejection or counted scrap", classes="dialog-title")
            yield Static("Loading the last day's scrap…", id="rj-hint")
            yield DataTable(id="rj-table", cursor_type="row", zebra_stripes=True)
            yield FieldError(id="rj-error")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#rj-table", DataTable)
        if self.many_sites:
            table.add_columns("Site", "Site time", "Machine", "Parts", "Reason")
        else:
            table.add_columns("When", "Machine", "Parts", "Reason")
        self.load()

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

    async def _recent(self) -> list[RejectionOut]:
        """Rejections of the shifts that ran in the last day (a rejection belongs to a shift instance)."""
        now = datetime.now(UTC)
        today = now.date()
        instances = []
        for site in self.sites:
            instances += await self.api.shift_instances(site.id, today - timedelta(days=1), today + timedelta(days=1))
        ids = [s.id for s in instances if s.id is not None and s.starts_at <= now and s.ends_at >= now - LOOK_BACK]
        found = await asyncio.gather(*(self.api.rejections(shift_instance_id=i) for i in ids))
        return [r for part in found for r in part if r.occurred_at >= now - LOOK_BACK]

    async def _counted(self) -> list[MachineScrapOut]:
        """Rejects the machines of these sites counted in the last day."""
        now = datetime.now(UTC)
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
        names = {r.id: r.name for r in reasons}
        newest = sorted([*booked, *counted], key=when, reverse=True)[:MAX_ROWS]
        self.rows = rows = by_site(newest, self._site_id)
        table = self.query_one("#rj-table", DataTable)
        table.clear()
        for index, r in enumerate(rows):
            machine = self.machines.get(r.machine_id)
            site = self._site(r.machine_id)
            zone = ZoneInfo(site.timezone if site else "UTC")
            if isinstance(r, RejectionOut):
                what = names.get(r.reason_id, "?") + (f" · {r.note}" if r.note else "")
            else:
                what = f"Counted by the machine until {r.end.astimezone(zone):%H:%M}"
            cells = [f"{when(r).astimezone(zone):%a %H:%M}", machine.code if machine else "?", str(r.quantity), what]
            table.add_row(*([site.code if site else "?"] if self.many_sites else []), *cells, key=str(index))
        if rows:
            hint.update("[b]Enter[/b] opens an NC for the highlighted scrap · Esc back")
            table.focus()
        else:
            hint.update("No scrap was booked or counted in the last day. Esc back; F4 opens an NC by hand.")

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
