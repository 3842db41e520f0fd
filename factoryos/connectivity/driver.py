"""What a protocol driver delivers, and the interface the endpoint session drives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from factoryos.connectivity.errors import ConnectivityError


@dataclass(frozen=True, slots=True)
class CounterSample:
    raw: int
    modulus: int | None  # wraps back to 0 at this value; None = no fixed width


@dataclass(frozen=True, slots=True)
class Reading:
    """One machine's signals from one poll."""

    good: CounterSample
    reject: CounterSample
    state_code: int
    alarm_code: int | None = None


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
