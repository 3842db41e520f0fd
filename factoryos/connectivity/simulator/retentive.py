"""A simulated PLC's retentive memory: its part counters survive a restart, as a real PLC's do.

Kept as JSON by machine id (`{"machines": {"SIM-0001": {"good": 31004, "reject": 581}}}`), written
whole or not at all. A missing or unreadable file, or a machine it does not name, leaves the
seeded values: the counter rules then see a counter that moved, as after a PLC swap.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from factoryos.connectivity.simulator.machine import SimMachine
from factoryos.private_files import write_private

log = logging.getLogger(__name__)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def load(path: Path) -> dict[str, tuple[int, int]]:
    """The counters (good, reject) kept in `path`, by machine id; empty when there is nothing usable."""
    try:
        machines = json.loads(path.read_text(encoding="utf-8"))["machines"]
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("simulated PLC counters in %s not readable (%s): starting from seeded values", path, exc)
        return {}
    if not isinstance(machines, dict):
        return {}
    out: dict[str, tuple[int, int]] = {}
    for machine_id, counters in machines.items():
        if isinstance(counters, dict):
            good, reject = _count(counters.get("good")), _count(counters.get("reject"))
            if good is not None and reject is not None:
                out[machine_id] = (good, reject)
    return out


def restore(path: Path, machines: Iterable[SimMachine]) -> int:
    """Set each machine's counters to those kept in `path`; returns how many machines were restored."""
    kept = load(path)
    restored = 0
    for machine in machines:
        if (counters := kept.get(machine.machine_id)) is not None:
            machine.good, machine.reject = counters
            restored += 1
    return restored


def save(path: Path, machines: Iterable[SimMachine]) -> None:
    """Keep every machine's counters in `path` (atomically: a crash leaves the old file or the new)."""
    body = {"machines": {m.machine_id: {"good": m.good, "reject": m.reject} for m in machines}}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps(body, indent=1))
