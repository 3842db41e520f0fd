"""A machine's status mapping: raw PLC state codes → the six machine states.

Stored as JSON on the machine (`{"codes": {"1": "running", ...}, "default": ...}`, the
shape the connectivity poller reads). An unmapped code falls back to `default`, which is
an unplanned stop unless configured: it costs availability and asks for a reason, safer
than silently counting an unknown code as running. `no_data` (and the older `offline`) is
never mapped: the poller sets it when a machine cannot be read.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from factoryos.kpi import MachineState


class StatusMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: dict[int, MachineState] = Field(default_factory=dict, description="Raw code → state.")
    default: MachineState = Field(MachineState.UNPLANNED_STOP, description="State of any unmapped code.")

    @field_validator("codes")
    @classmethod
    def _no_offline(cls, codes: dict[int, MachineState]) -> dict[int, MachineState]:
        if len(codes) > 1000:
            raise ValueError("at most 1000 codes")
        for code, state in codes.items():
            if state in (MachineState.OFFLINE, MachineState.NO_DATA):
                raise ValueError(f"code {code}: {state.value!r} is set by the poller, not mapped")
        return codes

    @field_validator("default")
    @classmethod
    def _default_readable(cls, state: MachineState) -> MachineState:
        if state is MachineState.NO_DATA:
            raise ValueError("'no_data' is set by the poller, not mapped")
        return state

    def state_for(self, raw_code: int | None) -> MachineState:
        if raw_code is None:
            return self.default
        return self.codes.get(raw_code, self.default)
