"""Text cut to a column's width so that rows stay told apart.

Machine names often share a long start and differ at the end ("Press 250 t, hall B, left" and
"…, right"): cutting the end away would print two alike rows. `apart` keeps the start and the part
that differs, with an ellipsis between.
"""

from __future__ import annotations

from collections.abc import Sequence
from os.path import commonprefix

ELLIPSIS = "…"
MIN_HEAD = 6  # characters of the start always kept: the name still reads as itself


def clip(text: str, width: int) -> str:
    """`text`, its end cut with an ellipsis when longer than `width`."""
    return text if len(text) <= width else text[:max(width - 1, 0)] + ELLIPSIS


def apart(values: Sequence[str], width: int) -> list[str]:
    """Each value at most `width` long, keeping where it differs from the others."""
    return [_apart(v, values, width) for v in values]


def _apart(value: str, values: Sequence[str], width: int) -> str:
    if len(value) <= width:
        return value
    room = width - 1  # beside the ellipsis
    shared = max((len(commonprefix([value, other])) for other in values if other is not value), default=0)
    if shared < room or room < 3:
        return clip(value, width)  # it differs within what fits
    head = min(MIN_HEAD, room // 2)
    differs = value[shared:]
    if len(differs) > room - head:  # the differing part alone is too long: its start after the head
        return value[:head] + ELLIPSIS + clip(differs, room - head)
    # The end from a little before the difference (up to half the room), the rest of the room for the start.
    tail = max(len(differs), min(room // 2, room - head))
    return value[:room - tail] + ELLIPSIS + value[len(value) - tail:]
