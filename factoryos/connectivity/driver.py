"""What a protocol driver delivers, and the interface the endpoint session drives."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from factoryos.connectivity.errors import ConnectivityError

# asyncua logs every service call at INFO ("read_attributes of several nodes": one line per
# poll) and pymodbus warns on every failed connect attempt, which the endpoint session
# already reports once, with the reason. Their warnings and errors still pass.
_LIBRARY_LEVELS = {"asyncua": logging.WARNING, "pymodbus": logging.WARNING}


class _DemoteToDebug(logging.Filter):
    """Turns records starting with one of `prefixes` into DEBUG records."""

    def __init__(self, logger: logging.Logger, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self._logger, self._prefixes = logger, prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and str(record.msg).startswith(self._prefixes):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self._logger.isEnabledFor(logging.DEBUG)
        return True


def quiet_library_logs() -> None:
    """Keep the protocol libraries' per-request chatter out of the logs (idempotent).

    A level someone set on purpose (logging config, `factoryos simulate`) is left alone,
    so DEBUG on "asyncua" or "pymodbus" still shows everything.
    """
    for name, level in _LIBRARY_LEVELS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
    pymodbus = logging.getLogger("pymodbus.logging")  # pymodbus logs everything through this one logger
    if not any(isinstance(f, _DemoteToDebug) for f in pymodbus.filters):
        # A connect failure or a silent device: reported once, with its machine, by our side.
        pymodbus.addFilter(_DemoteToDebug(pymodbus, ("Failed to connect", "No response received after")))


def machine_label(machine: Any) -> str:
    """How messages name a machine: by its code (`name`), not the poller's internal id."""
    return getattr(machine, "name", None) or machine.machine_id


@dataclass(frozen=True, slots=True)
class CounterSample:
    raw: int
    modulus: int | None  # wraps back to 0 at this value; None = no fixed width


@dataclass(frozen=True, slots=True)
class Reading:
    """One machine's signals from one poll.

    `at`: when the values held, from the source (an OPC-UA subscription's SourceTimestamp);
    None ⇒ the poll's time. `earlier`: the values pushed since the previous poll, oldest first,
    each with its `at`, so that every change is counted at its own time."""

    good: CounterSample
    reject: CounterSample
    state_code: int
    alarm_code: int | None = None
    at: datetime | None = None
    earlier: tuple[Reading, ...] = ()


M = TypeVar("M", contravariant=True)


class Driver(Protocol, Generic[M]):
    """One connection to one endpoint, shared by all machines behind it.

    `connect` and `read` raise `ConnectivityError` when the endpoint itself fails (the
    session then reconnects with back-off). A single machine's failure is returned as a
    `ConnectivityError` in its slot of `read`'s result, leaving the others intact.
    """

    async def connect(self) -> None: ...

    async def read(self, machines: Sequence[M]) -> dict[str, Reading | ConnectivityError]: ...

    async def close(self) -> None: ...
