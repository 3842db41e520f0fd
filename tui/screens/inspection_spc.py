"""The SPC chart of one measured characteristic as text: one line per subgroup, newest last.

Each line places the subgroup's mean (X̄, or the value for samples of one) between the
lower and upper control limits: `│` marks the limits, `┊` the centre line, `●` the point
(`◆` when it breaks a rule, named at the line's end). Above it: limits, Cp/Cpk and Pp/Ppk
with the number of values they rest on. A point whose mean lies within the limits but whose
range (R, or moving range MR) is beyond its own chart's limits says so: "R beyond 3σ".
"""

from __future__ import annotations

from datetime import tzinfo
from uuid import UUID

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from factoryos.quality.inspection_models import SpcLimits, SpcOut
from tui.screens.base import AppScreen
from tui.widgets.header import Header

RULE_MARK = {"beyond_limits": "beyond 3σ", "run_one_side": "8 on one side", "trend": "6 trending"}
WIDTH = 41  # columns of the plot between the margins


def _f(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def _index(value: float, low: float, high: float, width: int) -> int:
    """The column of `value` in a plot from `low` to `high` (clamped to the edges)."""
    if high <= low:
        return width // 2
    return max(0, min(width - 1, round((value - low) / (high - low) * (width - 1))))


def _rule_words(rule: str, value: float, location: SpcLimits, kind: str | None) -> str:
    """A broken rule named for the line; beyond the limits with the mean inside them, it is the
    range that is (the chart shows only the means: "beyond 3σ" would contradict the point)."""
    if rule == "beyond_limits" and location.lower <= value <= location.upper:
        return f"{'R' if kind == 'xbar_r' else 'MR'} beyond 3σ"
    return RULE_MARK.get(rule, rule)


def chart_lines(spc: SpcOut, zone: tzinfo | None, width: int = WIDTH) -> list[str]:
    """The chart as plain text lines (also what the report's text fallback uses)."""
    d = spc.decimals + 1
    unit = f" {spc.unit}" if spc.unit else ""
    kind = {"xbar_r": f"X̄-R, n = {spc.n}", "i_mr": "individuals-moving range"}.get(spc.kind or "", "")
    head = [f"{spc.name}{unit} · {kind or 'not enough data'} · {len(spc.points)} subgroups"]
    if spc.location is None or spc.capability is None:
        head.append("At least 2 inspections are needed for control limits.")
        return head
    loc, cap = spc.location, spc.capability
    head.append(f"LCL {_f(loc.lower, d)}  CL {_f(loc.centre, d)}  UCL {_f(loc.upper, d)}"
                f"   spec {_f(float(spc.lsl) if spc.lsl is not None else None, d)} … "
                f"{_f(float(spc.usl) if spc.usl is not None else None, d)}")
    head.append(f"Cp {_f(cap.cp, 2)}  Cpk {_f(cap.cpk, 2)}  (σ within {_f(cap.sigma_within, d)})   "
                f"Pp {_f(cap.pp, 2)}  Ppk {_f(cap.ppk, 2)}   n = {cap.values} values")
    span = loc.upper - loc.lower
    low, high = loc.lower - span * 0.25, loc.upper + span * 0.25
    marks = {_index(loc.lower, low, high, width): "│", _index(loc.upper, low, high, width): "│",
             _index(loc.centre, low, high, width): "┊"}
    lines = []
    for p in spc.points:
        row = [marks.get(i, "·") for i in range(width)]
        row[_index(p.value, low, high, width)] = "◆" if p.rules else "●"
        at = f"{p.recorded_at.astimezone(zone):%d.%m %H:%M}" if zone else f"{p.recorded_at:%d.%m %H:%M}"
        flags = ", ".join(_rule_words(r, p.value, loc, spc.kind) for r in p.rules)
        lines.append(f"{at} {_f(p.value, d):>9} {''.join(row)} {flags}".rstrip())
    return head + lines


class SpcScreen(AppScreen):
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("ctrl+r", "reload", "Reload", tooltip="Read the chart again.", id="reload"),
    ]
    HELP = """\
**SPC chart**

One line per inspection, newest last: `●` the mean between the control limits `│` and the
centre line `┊`; `◆` breaks a rule (beyond 3σ, 8 on one side of the centre, 6 trending).
"R beyond 3σ": the parts of that inspection differ from each other far more than usual.
"""

    def __init__(self, characteristic_id: UUID, zone: tzinfo | None) -> None:
        super().__init__()
        self.characteristic_id, self.zone = characteristic_id, zone
        self.spc: SpcOut | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="spc-scroll"):
            yield Static("Loading the chart…", id="spc-chart", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="spc-load", exit_on_error=False)
    async def load(self) -> None:
        self.spc = await self.api.spc(self.characteristic_id)
        self.query_one("#spc-chart", Static).update("\n".join(chart_lines(self.spc, self.zone)))
        self.query_one("#spc-scroll", VerticalScroll).scroll_end(animate=False)
