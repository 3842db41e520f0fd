"""A list of choices ticked with Space whose box reads without colour.

Textual's SelectionList draws an X in every box and tells ticked from not by colour alone; on a
monochrome terminal, or to anyone who cannot tell the colours apart, every entry looks ticked.
"""

from __future__ import annotations

from typing import TypeVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList

T = TypeVar("T")


class TickList(SelectionList[T]):
    """A SelectionList whose box holds ✓ when ticked and stays empty when not."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        index = self.scroll_offset.y + y
        if len(segments) < 2 or segments[1].text != Checkbox.BUTTON_INNER or index >= self.option_count:
            return strip
        ticked = self.get_option_at_index(index).value in self.selected
        box = segments[1]
        segments[1] = Segment("✓" if ticked else " ", box.style, box.control)
        return Strip(segments, strip.cell_length)


class TickBox(Checkbox):
    """A Checkbox whose box holds ✓ when ticked and stays empty when not (Textual's holds an X
    either way and tells them apart by colour, as SelectionList does)."""

    @property  # type: ignore[override]  # read by the toggle button at each render
    def BUTTON_INNER(self) -> str:  # noqa: N802  # the name Textual reads
        return "✓" if self.value else " "
