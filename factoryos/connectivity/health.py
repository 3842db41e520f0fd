"""Per-machine connection health, reported when it changes and as a periodic heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta

from factoryos.connectivity.events import Health


class HealthTracker:
    def __init__(self, machine_id: str, heartbeat: float = 60.0, phase: float = 0.0) -> None:
        self._machine_id = machine_id
        self._heartbeat = timedelta(seconds=heartbeat)
        self._phase = timedelta(seconds=phase)  # the first heartbeat comes this much sooner
        self.last_ok: datetime | None = None
        self.last_error: str | None = None
        self.error_code: str | None = None
        self._reported: datetime | None = None

    def ok(self, at: datetime) -> Health | None:
        changed = self.last_error is not None or self.last_ok is None
        self.last_ok, self.last_error, self.error_code = at, None, None
        return self._report(at, changed)

    def failed(self, at: datetime, message: str, code: str) -> Health | None:
        changed = message != self.last_error
        self.last_error, self.error_code = message, code
        return self._report(at, changed)

    def _report(self, at: datetime, changed: bool) -> Health | None:
        if not changed and self._reported is not None and at - self._reported < self._heartbeat:
            return None
        self._reported = at - self._phase if self._reported is None else at
        return Health(
            machine_id=self._machine_id,
            last_ok=self.last_ok,
            last_error=self.last_error,
            error_code=self.error_code,
            at=at,
        )
