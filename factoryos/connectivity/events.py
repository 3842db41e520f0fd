"""What the poller produces, and the `Sink` that stores it.

The database layer implements `Sink`. Every event has a stable `key` so that a replay
after a crash or an outage (the spool delivers at least once) is an idempotent upsert:
- `CountDelta`: parts made by one machine in one UTC minute. Several deltas may share a
  minute (a flush mid-minute, a restart), each with its own key; the minute's total is
  their sum. Store with `insert … on conflict (key) do nothing`. A delta may carry the
  counters' baseline (raw values and time of the last reading whose parts it completes):
  store it in the same transaction, keeping the newest, so stored counts and baseline agree.
- `CounterBaseline`: the same baseline alone (counters moved without parts, e.g. a reset
  while idle), sent now and then so a restart does not count from an old value.
- `CounterAnomaly`: a jump larger than the machine could make; not production. It carries
  its counter's new baseline (`raw` at `detected_at`). Key = machine + signal + reading.
- `StateChange`: the machine entered `state` at `at`; the interval lasts until the next
  change. Key = machine + instant.
- `Health`: latest connection health; upsert by machine, keep the newest `at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal, Protocol, TypeAlias

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from factoryos.connectivity.states import MachineState


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CountDelta(_Event):
    kind: Literal["count"] = "count"
    machine_id: str
    minute_utc: AwareDatetime
    good: int = Field(ge=0)
    reject: int = Field(ge=0)
    key: str
    good_raw: int | None = Field(default=None, description="Good counter's baseline after this delta.")
    reject_raw: int | None = Field(default=None, description="Reject counter's baseline after this delta.")
    raw_at: AwareDatetime | None = Field(default=None, description="When that baseline was read.")


class CounterBaseline(_Event):
    kind: Literal["baseline"] = "baseline"
    machine_id: str
    good_raw: int
    reject_raw: int
    at: AwareDatetime


class CounterAnomaly(_Event):
    kind: Literal["anomaly"] = "anomaly"
    machine_id: str
    signal: Literal["good", "reject"]
    previous_raw: int | None
    raw: int
    previous_at: AwareDatetime | None
    detected_at: AwareDatetime
    delta: int = Field(ge=0, description="Parts the counter claims.")
    allowed: int | None = Field(description="The bound it broke.")
    key: str


class StateChange(_Event):
    kind: Literal["state"] = "state"
    machine_id: str
    state: MachineState
    raw_code: int | None
    alarm_code: int | None = None
    at: AwareDatetime
    reason: str | None = Field(default=None, description="Why the machine is offline, when it is.")
    key: str


class Health(_Event):
    kind: Literal["health"] = "health"
    machine_id: str
    last_ok: AwareDatetime | None
    last_error: str | None
    error_code: str | None = None
    at: AwareDatetime


Event: TypeAlias = CountDelta | StateChange | Health | CounterBaseline | CounterAnomaly
event_adapter: TypeAdapter[Event] = TypeAdapter(Annotated[Event, Field(discriminator="kind")])


class Sink(Protocol):
    """Stores events. Raise to say "not stored, try again later" (the spool keeps them).

    Raise `RejectedEvents` instead for events that can never be stored (they are set
    aside, not retried forever).
    """

    async def write(self, events: Sequence[Event]) -> None: ...


class RejectedEvents(Exception):
    """A sink's verdict that events can never be stored (e.g. an unknown machine).

    `events` names the unstorable ones (the sink stored the rest); None means the whole batch.
    """

    def __init__(self, reason: str, events: Sequence[Event] | None = None) -> None:
        super().__init__(reason)
        self.events = events


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)
