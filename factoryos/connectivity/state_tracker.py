"""Raw status codes → `StateChange` events for one machine."""

from __future__ import annotations

from datetime import datetime

from factoryos.connectivity.events import StateChange
from factoryos.connectivity.machine_config import StatusMapping
from factoryos.connectivity.states import MachineState


class StateTracker:
    """Emits a change when the state, the raw code or the alarm code differs from the last one.

    A new raw code with the same state still emits: two fault codes are two different
    stops for whoever assigns reasons later.
    """

    def __init__(self, machine_id: str, mapping: StatusMapping) -> None:
        self._machine_id = machine_id
        self._mapping = mapping
        self._last: tuple[MachineState, int | None, int | None] | None = None

    @property
    def state(self) -> MachineState | None:
        return self._last[0] if self._last else None

    def observe(self, raw_code: int, alarm_code: int | None, at: datetime) -> StateChange | None:
        return self._change(self._mapping.state_for(raw_code), raw_code, alarm_code, at, None)

    def lost(self, at: datetime, reason: str) -> StateChange | None:
        """The machine could not be read: no data (once, until it comes back).

        Not a stop: what the machine did meanwhile is unknown, so it opens no downtime.
        """
        if self._last is not None and self._last[0] is MachineState.NO_DATA:
            return None
        return self._change(MachineState.NO_DATA, None, None, at, reason)

    def _change(
        self, state: MachineState, raw: int | None, alarm: int | None, at: datetime, reason: str | None
    ) -> StateChange | None:
        current = (state, raw, alarm)
        if current == self._last:
            return None
        self._last = current
        return StateChange(
            machine_id=self._machine_id,
            state=state,
            raw_code=raw,
            alarm_code=alarm,
            at=at,
            reason=reason,
            key=f"{self._machine_id}|{at.isoformat()}",
        )
