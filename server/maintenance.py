"""A gate in front of the database, closed while a restore swaps the database in.

Requests arriving while it is closed answer 503 `maintenance` (with Retry-After) instead
of failing on a terminated connection. Closing waits, bounded, for the requests already
inside to finish, so the swap cuts none of them off mid-transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from factoryos.errors import FactoryOSError

RETRY_AFTER_SECONDS = 5


class Maintenance(FactoryOSError):
    code = "maintenance"
    status = 503
    title = "Down for maintenance"


class MaintenanceGate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._inside = 0
        self._reason: str | None = None

    @property
    def reason(self) -> str | None:
        """Why the gate is closed; None while it is open."""
        return self._reason

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Around one request's database work; raises `Maintenance` while closed."""
        with self._cond:
            if self._reason is not None:
                raise Maintenance(self._reason, extra={"retry_after": RETRY_AFTER_SECONDS})
            self._inside += 1
        try:
            yield
        finally:
            with self._cond:
                self._inside -= 1
                self._cond.notify_all()

    def close(self, reason: str, *, drain_seconds: float = 15.0) -> bool:
        """Turn new requests away; True once none is inside (False when some still were at the deadline)."""
        with self._cond:
            self._reason = reason
            return self._cond.wait_for(lambda: self._inside == 0, drain_seconds)

    def open(self) -> None:
        with self._cond:
            self._reason = None
