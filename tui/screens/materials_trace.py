"""Trace a lot: its genealogy as a tree, backward (what went into it) or forward (where it went).

Type or scan the lot number and press Enter; F2 traces backward, F3 forward. Each node shows
the lot, its item, the quantity used on that link, and where it came from (supplier lot, or
the order and machine that made it); a blocked or quarantined lot is marked.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Label, Static, Tree

from factoryos.client import ClientError, SessionEnded
from factoryos.materials.trace_models import TraceNode, TraceOut
from tui.errors import describe
from tui.screens.base import AppScreen
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header
from tui.widgets.scan_input import ScanInput

MAX_SHOWN = 2_000  # nodes drawn in the tree; the summary still counts them all


def node_label(n: TraceNode) -> str:
    used = f" · {n.quantity:f} used" if n.quantity is not None and n.level else ""
    source = (f" · {n.supplier} {n.supplier_lot or ''}".rstrip() if n.supplier
              else f" · {n.order_number} on {n.machine_code}" if n.order_number else "")
    status = "" if n.status == "available" else f" [{n.status.upper()}]"
    return f"{n.lot_number} {n.item_number}{used}{source}{status}"


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
    TraceScreen #trace-summary { height: 2; padding: 0 1; }
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

    def show(self, result: TraceOut) -> None:
        self.result = result
        way = "went into" if result.direction == "backward" else "made from"
        shown = min(len(result.nodes), MAX_SHOWN)
        self.query_one("#trace-summary", Static).update(
            f"{result.lots - 1} lot(s) {way} {result.lot_number}, {result.levels} level(s) · "
            f"{len(result.suppliers)} supplier(s) · {len(result.orders)} order(s) · "
            f"{len(result.machines)} machine(s)\n"
            + (f"Showing the first {shown:,} of {len(result.nodes):,} entries." if shown < len(result.nodes)
               else ", ".join(result.orders[:6])))
        tree = self.query_one("#trace-tree", Tree)
        tree.clear()
        children: dict[object, list[TraceNode]] = {}
        for n in result.nodes[:MAX_SHOWN]:
            children.setdefault(n.via_lot_id if n.level else None, []).append(n)
        stack = [(tree.root, n) for n in reversed(children.get(None, []))]
        while stack:
            parent, node = stack.pop()
            kids = [c for c in children.get(node.lot_id, []) if c.level == node.level + 1]
            added = parent.add(node_label(node), data=node.lot_id, expand=True, allow_expand=bool(kids))
            stack.extend((added, c) for c in reversed(kids))
        tree.root.expand()
