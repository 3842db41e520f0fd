"""One machine on the dashboard: code, state with time in state, counts against target.

The tile's colour is its state (`-running`, `-unplanned-stop`, … as CSS classes) so the
theme decides what each state looks like.
"""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from factoryos.client.models import LiveMachine

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


def since_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


class MachineTile(Static):
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
    """

    def show(self, machine: LiveMachine, now: datetime) -> None:
        state = machine.state
        label = STATE_NAMES.get(state or "", "NO SIGNAL")
        if state and machine.state_since is not None:
            label += f" {since_text((now - machine.state_since).total_seconds())}"
        target = f"/{machine.target_quantity}" if machine.target_quantity else ""
        waiting = len(machine.pending_downtime)
        flag = f" ⚠{waiting}" if waiting else ""
        self.update(
            f"[b]{machine.code}[/b]{flag}\n{label}\n"
            f"✓{machine.good_count}{target} ✗{machine.reject_count}"
        )
        self.remove_class(*STATE_CLASSES)
        self.add_class(f"-{state.replace('_', '-')}" if state in STATE_NAMES else "-unknown")
        self.set_class(bool(waiting), "-alert")
        self.tooltip = machine.name
