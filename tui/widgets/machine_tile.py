"""One machine on the dashboard: code, state with time in state, counts against target and
the running order's progress. It takes the focus; Enter asks for the machine's detail.

The tile's colour is its state (`-running`, `-unplanned-stop`, … as CSS classes) so the
theme decides what each state looks like.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from factoryos.client.models import LiveMachine, LiveOrder
from tui.markup import escape

STATE_NAMES = {
    "running": "RUNNING",
    "idle": "IDLE",
    "planned_stop": "PLANNED STOP",
    "unplanned_stop": "STOPPED",
    "setup": "SETUP",
    "offline": "OFFLINE",
    "no_data": "NO DATA",  # the poller cannot read it: not a stop
}
STATE_CLASSES = [f"-{s.replace('_', '-')}" for s in STATE_NAMES] + ["-unknown"]


def order_progress(order: LiveOrder, width: int = 18) -> str:
    """ "MO-1001 42/100": the running order's number (shortened from the left to fit `width`)
    and its good parts of the ordered quantity."""
    progress = f" {order.good}/{order.ordered}"
    number = order.order_number
    room = max(3, width - len(progress))
    if len(number) > room:
        number = "…" + number[-(room - 1):]
    return number + progress


def since_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


class MachineTile(Static, can_focus=True):
    """Focusable: Enter (or a click) asks for the machine's detail."""

    BINDINGS = [
        Binding("enter", "choose", "Details", tooltip="Open this machine's detail.", id="details"),
        # The arrows move between tiles in reading order (the grid's columns follow the width).
        Binding("left", "move(0, -1)", show=False), Binding("right", "move(0, 1)", show=False),
        Binding("up", "move(-1, 0)", show=False), Binding("down", "move(1, 0)", show=False),
    ]
    DEFAULT_CSS = """
    MachineTile {
        height: 3;
        padding: 0 1;
        background: $state-unknown;
        color: $state-text;
    }
    MachineTile.-running { background: $state-running; }
    MachineTile.-idle { background: $state-idle; }
    MachineTile.-planned-stop { background: $state-planned-stop; }
    MachineTile.-unplanned-stop { background: $state-unplanned-stop; }
    MachineTile.-setup { background: $state-setup; }
    MachineTile.-offline { background: $state-offline; }
    MachineTile.-no-data { background: $state-no-data; }
    MachineTile.-alert { text-style: bold; }
    MachineTile:focus { outline-left: thick $foreground; outline-right: thick $foreground; background-tint: $foreground 15%; }
    """

    @dataclass
    class Chosen(Message):
        machine_id: UUID

    machine: LiveMachine | None = None

    def action_choose(self) -> None:
        if self.machine is not None:
            self.post_message(self.Chosen(self.machine.machine_id))

    def action_move(self, rows: int, columns: int) -> None:
        parent = self.parent
        if parent is None:
            return
        tiles = list(parent.query_children(MachineTile))
        width = parent.styles.grid_size_columns or 1
        index = tiles.index(self) + rows * width + columns
        if 0 <= index < len(tiles):
            tiles[index].focus()

    def on_click(self) -> None:
        self.focus()
        self.action_choose()

    def show(self, machine: LiveMachine, now: datetime) -> None:
        self.machine = machine
        state = machine.state
        label = STATE_NAMES.get(state or "", "NO SIGNAL")
        if state and machine.state_since is not None:
            label += f" {since_text((now - machine.state_since).total_seconds())}"
        target = f"/{machine.target_quantity}" if machine.target_quantity else ""
        waiting = len(machine.pending_downtime)
        flag = f" ⚠{waiting}" if waiting else ""
        order = machine.order
        room = (self.size.width if self.size.width > 4 else 16) - 2  # the content's width less "▶ "
        self.update(
            f"[b]{escape(machine.code)}[/b]{flag}\n{label}\n"
            f"✓{machine.good_count}{target} ✗{machine.reject_count}"
            + (f"\n▶ {escape(order_progress(order, room))}" if order is not None else "")
        )
        self.remove_class(*STATE_CLASSES)
        self.add_class(f"-{state.replace('_', '-')}" if state in STATE_NAMES else "-unknown")
        self.set_class(bool(waiting), "-alert")
        self.tooltip = machine.name
