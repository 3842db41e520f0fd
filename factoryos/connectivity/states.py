"""Machine states and the tracker that turns raw PLC status codes into state changes."""

from __future__ import annotations

from enum import StrEnum


class MachineState(StrEnum):
    RUNNING = "running"
    IDLE = "idle"
    PLANNED_STOP = "planned_stop"
    UNPLANNED_STOP = "unplanned_stop"
    SETUP = "setup"
    OFFLINE = "offline"


# A code nobody mapped is treated as an unplanned stop: it costs availability and asks an
# operator for a reason, which is safer than silently counting it as running or idle.
DEFAULT_UNMAPPED_STATE = MachineState.UNPLANNED_STOP
