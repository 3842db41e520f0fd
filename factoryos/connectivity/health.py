"""Per-machine connection health: what the poller reports about reaching each machine.

- A change (first poll, an error, a different error, recovery) is reported at once.
- While polls succeed, an OK report goes out at most every `ok_every` seconds (default 5 s),
  so the stored `last_ok` is never older than that plus one poll, yet 2,000 machines polled
  every second make at most 400 reports a second, written set-wise by the sink.
- While polls fail with the same error, it is repeated every `heartbeat` seconds.

`phase` (in [0, heartbeat)) makes a machine's first periodic report come sooner, so machines
started together do not all report in the same round; the OK cadence uses the same share of
its own, shorter period.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from factoryos.connectivity.events import Health

OK_EVERY = 5.0  # seconds between OK reports of a machine that keeps answering


class HealthTracker:
    def __init__(self, machine_id: str, heartbeat: float = 60.0, phase: float = 0.0,
                 ok_every: float = OK_EVERY) -> None:
        self._machine_id = machine_id
        self._heartbeat = timedelta(seconds=heartbeat)
        self._ok_every = timedelta(seconds=min(ok_every, heartbeat))
        share = (phase / heartbeat) % 1.0 if heartbeat > 0 else 0.0
        self._phase = timedelta(seconds=phase)  # the first heartbeat comes this much sooner
        self._ok_phase = self._ok_every * share
        self.last_ok: datetime | None = None
        self.last_error: str | None = None
        self.error_code: str | None = None
        self.failures = 0  # failed reads since start (the /metrics read-error counter)
        self._reported: datetime | None = None  # when the last report went out, shifted by the phase

    def ok(self, at: datetime) -> Health | None:
        changed = self.last_error is not None or self.last_ok is None
        self.last_ok, self.last_error, self.error_code = at, None, None
        return self._report(at, changed, self._ok_every, self._ok_phase)

    def failed(self, at: datetime, message: str, code: str) -> Health | None:
        changed = message != self.last_error
        self.failures += 1
        self.last_error, self.error_code = message, code
        return self._report(at, changed, self._heartbeat, self._phase)

    def _report(self, at: datetime, changed: bool, period: timedelta, phase: timedelta) -> Health | None:
        if not changed and self._reported is not None and at - self._reported < period:
            return None
        self._reported = at - phase if self._reported is None else at
        return Health(
            machine_id=self._machine_id,
            last_ok=self.last_ok,
            last_error=self.last_error,
            error_code=self.error_code,
            at=at,
        )
