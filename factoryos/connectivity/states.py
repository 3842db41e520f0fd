"""Machine states and the tracker that turns raw PLC status codes into state changes."""

from __future__ import annotations

from enum import StrEnum


class MachineState(StrEnum):
    RUNNING = "running"
    IDLE = "idle"
    PLANNED_STOP = "planned_stop"
    UNPLANNED_STOP = "unplanned_stop"
    SETUP = "setup"
    # Stored by the poller before no-data existed; kept for those rows (an unplanned stop).
    OFFLINE = "offline"
    # The poller could not read the machine: not a stop, see `factoryos.kpi.accounting`.
    NO_DATA = "no_data"


# A code nobody mapped is treated as an unplanned stop: it costs availability and asks an
# operator for a reason, which is safer than silently counting it as running or idle.
DEFAULT_UNMAPPED_STATE = MachineState.UNPLANNED_STOP
