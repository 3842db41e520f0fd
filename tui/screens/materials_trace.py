"""Trace a lot: its genealogy as a tree, backward (what went into it) or forward (where it went).

Type or scan the lot number and press Enter; F2 traces backward, F3 forward. Each node shows
the lot, its item, the quantity used on that link, and where it came from (supplier lot, or
the order and machine that made it) and who ran or loaded it; a blocked or quarantined lot is
marked. Under a lot hang the inspections of the order that made it and the nonconformances
naming it or that order.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Label, Static, Tree

from factoryos.client import ClientError, SessionEnded
from factoryos.materials.trace_models import TraceInspection, TraceLot, TraceNode, TraceNonconformance, TraceOut
from tui.errors import describe
from tui.screens.base import AppScreen
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header
from tui.widgets.scan_input import ScanInput

MAX_SHOWN = 2_000  # nodes drawn in the tree; the summary still counts them all


def node_label(n: TraceNode, d: TraceLot, input_unit: str | None = None) -> str:
    """`input_unit`: the unit of the link's input lot (the lot itself backward, its parent forward)."""
    unit = f" {input_unit}" if input_unit else ""
    used = f" · {n.quantity:f}{unit} used" if n.quantity is not None and n.level else ""
    source = (f" · {d.supplier} {d.supplier_lot or ''}".rstrip() if d.supplier
              else f" · {d.order_number} on {d.machine_code}" if d.order_number else "")
    # Who ran the operation that made it, or loaded it at a machine.
    people = f" · by {', '.join(d.operators[:3])}{' …' if len(d.operators) > 3 else ''}" if d.operators else ""
    status = "" if d.status == "available" else f" [{d.status.upper()}]"
    return f"{d.lot_number} {d.item_number}{used}{source}{people}{status}"


def count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def summary(result: TraceOut, shown: int) -> str:
    """Two lines that fit 80 columns: what was found, then who and what it touched."""
    way = "went into" if result.direction == "backward" else "made from"
    cut = f"; first {shown:,} of {len(result.nodes):,} shown" if shown < len(result.nodes) else ""
    return (f"{count(result.lots - 1, 'lot')} {way} {result.lot_number} over {count(result.levels, 'level')}{cut}\n"
            + " · ".join((count(len(result.suppliers), "supplier"), count(len(result.orders), "order"),
                          count(len(result.machines), "machine"), count(len(result.operators), "operator"),
                          count(len(result.inspections), "inspection"),
                          count(len(result.nonconformances), "NC"))))


def inspection_label(i: TraceInspection, zone: ZoneInfo | None) -> str:
    """Recorded at, in the machine's site time (UTC, said so, when the plant is not loaded)."""
    when = (i.recorded_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if zone
            else i.recorded_at.strftime("%Y-%m-%d %H:%M UTC"))
    spec = f", {i.out_of_spec} out of spec" if i.out_of_spec else ""
    return f"Inspection {i.plan_name}: {i.result.upper()}{spec} · {i.machine_code} {when}"


def nc_label(n: TraceNonconformance) -> str:
    decided = f" → {n.disposition}" if n.disposition else ""
    return f"{n.code} [{n.status.upper()}{decided}] {n.quantity:f} · {n.description[:60]}"


class TraceScreen(AppScreen):
    ACTION_PERMISSIONS = dict.fromkeys(("backward", "forward"), ("inventory.view",))
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f2", "backward", "Backward", tooltip="What went into the lot, down to the supplier lots.",
                id="trace-backward"),
        Binding("f3", "forward", "Forward", tooltip="Every lot and order made from the lot (a recall's answer).",
                id="trace-forward"),
    ]
    HELP = """\
**Trace a lot**

Scan or type a **lot number** and press **Enter** (or **F2**) to see what went into it, down to
the suppliers' lots. **F3** shows where it went: every lot and order made from it.
"""
    AUTO_FOCUS = "#trace-lot"
    DEFAULT_CSS = """
    TraceScreen #trace-summary { height: auto; max-height: 3; padding: 0 1; }
    TraceScreen #trace-tree { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.result: TraceOut | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="form-row"):
            yield Label("Lot", classes="form-label")
            yield ScanInput(placeholder="scan or type the lot number", max_length=60, id="trace-lot")
        yield FieldError(id="trace-error")
        yield Static("", id="trace-summary", markup=False)
        yield Tree("", id="trace-tree")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "FactoryOS — trace a lot"
        self.query_one("#trace-tree", Tree).show_root = False

    @on(ScanInput.Submitted, "#trace-lot")
    def _entered(self, event: ScanInput.Submitted) -> None:
        self.query_one("#trace-lot", ScanInput).take_overflow()
        self.action_backward()

    def action_backward(self) -> None:
        self._go("backward")

    def action_forward(self) -> None:
        self._go("forward")

    def _go(self, direction: str) -> None:
        lot = self.query_one("#trace-lot", ScanInput).value.strip()
        if not lot:
            self.query_one("#trace-error", FieldError).show("Scan or type a lot number.")
            return
        self.load(lot, direction)

    @work(exclusive=True, group="trace", exit_on_error=False)
    async def load(self, lot: str, direction: str) -> None:
        error = self.query_one("#trace-error", FieldError)
        error.clear()
        try:
            result = await self.api.trace(lot, direction)
        except SessionEnded:
            raise
        except ClientError as exc:
            if exc.transient:
                self.factory.online = False
            error.show("No lot has this number: check the label." if exc.code == "lot_not_found"
                       else describe(exc).message)
            self.query_one("#trace-lot", ScanInput).select_all()
            return
        self.show(result)

    def _zone(self, machine_code: str) -> ZoneInfo | None:
        ref = self.session.reference
        machine = ref.machine_by_code(machine_code) if ref else None
        site = ref.site(machine.site_id) if ref and machine else None
        return ZoneInfo(site.timezone) if site else None

    def show(self, result: TraceOut) -> None:
        self.result = result
        shown = min(len(result.nodes), MAX_SHOWN)
        self.query_one("#trace-summary", Static).update(summary(result, shown))
        tree = self.query_one("#trace-tree", Tree)
        tree.clear()
        details = result.by_lot()
        # Inspections and NCs hang under each lot they touch (an order's under every lot it made).
        quality: dict[object, list[str]] = {}
        for i in result.inspections:
            for lot_id in i.lot_ids:
                quality.setdefault(lot_id, []).append(inspection_label(i, self._zone(i.machine_code)))
        for nc in result.nonconformances:
            for lot_id in nc.lot_ids:
                quality.setdefault(lot_id, []).append(nc_label(nc))
        children: dict[object, list[TraceNode]] = {}
        for n in result.nodes[:MAX_SHOWN]:
            children.setdefault(n.via_lot_id if n.level else None, []).append(n)
        stack = [(tree.root, n) for n in reversed(children.get(None, []))]
        while stack:
            parent, node = stack.pop()
            kids = [c for c in children.get(node.lot_id, []) if c.level == node.level + 1]
            notes = quality.get(node.lot_id, [])
            source = node.lot_id if result.direction == "backward" or node.via_lot_id is None else node.via_lot_id
            added = parent.add(node_label(node, details[node.lot_id], details[source].unit if source in details
                                          else None), data=node.lot_id, expand=True,
                               allow_expand=bool(kids or notes))
            for note in notes:
                added.add_leaf(note)
            stack.extend((added, c) for c in reversed(kids))
        tree.root.expand()
