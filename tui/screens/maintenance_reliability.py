"""MTBF and MTTR per asset and failure reason over the last days (F8 on the Maintenance screen):
each asset's line over all its failures, then one line per failure reason. **F5** changes the
period (7, 30 or 90 days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from factoryos.maintenance.models import Reliability
from tui.screens.base import AppScreen
from tui.widgets.header import Header

PERIODS = (30, 90, 7)


def span(seconds: float | None) -> str:
    """A duration in the units a technician reads: "3d 4h", "2h 05m", "6m 30s"; "–": no failure."""
    if seconds is None:
        return "–"
    s = round(seconds)
    d, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m:02d}m"
    return f"{m}m {sec:02d}s"


def rows(found: list[Reliability]) -> list[tuple[str, str, str, str, str]]:
    """Each asset with failures: its total line, then its reasons (most stop time first)."""
    out = []
    for r in found:
        if not r.failures and not r.reasons:
            continue
        out.append((r.asset_name, "all reasons", str(r.failures), span(r.mtbf_seconds), span(r.mttr_seconds)))
        for x in r.reasons:
            out.append(("", x.name, str(x.failures), span(x.mtbf_seconds), span(x.mttr_seconds)))
    return out


class ReliabilityScreen(AppScreen):
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f5", "period", "Period", tooltip="Last 30, 90 or 7 days.", id="period"),
    ]
    HELP = """\
**MTBF and MTTR**

Per asset over the period: mean run time between failures (MTBF) and mean time to repair
(MTTR), as OEE counts them (a failure is an unplanned stop at least the micro-stop threshold
long). Under each asset, the same per failure reason: a corrective order's repair counts under
the reason of the stop it was raised from. **F5** changes the period.
"""
    AUTO_FOCUS = "#rel-table"
    DEFAULT_CSS = """
    ReliabilityScreen .mt-title { height: 1; padding: 0 1; text-style: bold; }
    ReliabilityScreen #rel-table { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.days = PERIODS[0]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("MTBF and MTTR", classes="mt-title", id="rel-title")
        table: DataTable[str] = DataTable(id="rel-table", cursor_type="row", zebra_stripes=True)
        for label, width in (("Asset", 22), ("Failure reason", 24), ("Fail", 4), ("MTBF", 8), ("MTTR", 8)):
            table.add_column(label, width=width)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def action_period(self) -> None:
        self.days = PERIODS[(PERIODS.index(self.days) + 1) % len(PERIODS)]
        self.load()

    @work(exclusive=True, group="reliability", exit_on_error=False)
    async def load(self) -> None:
        end = datetime.now(UTC)
        found = await self.api.maintenance_reliability(end - timedelta(days=self.days), end)
        table = self.query_one("#rel-table", DataTable)
        table.clear()
        lines = rows(found)
        for cells in lines:
            table.add_row(*cells)
        title = f"MTBF and MTTR, last {self.days} days"
        self.query_one("#rel-title", Static).update(title if lines else f"{title}: no failures")
