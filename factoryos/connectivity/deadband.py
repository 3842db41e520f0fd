"""Client-side absolute deadband of a status or alarm value (OPC-UA's DataChangeFilter rule)."""

from __future__ import annotations


class Deadband:
    """Passes a value only when it differs from the last one passed by more than `width`;
    otherwise the last one passed stands. No width ⇒ every value passes."""

    def __init__(self, width: float | None) -> None:
        self._width = width
        self._last: int | None = None

    def apply(self, value: int) -> int:
        if self._width is None or self._last is None or abs(value - self._last) > self._width:
            self._last = value
            return value
        return self._last
