"""KPI tiles: the headline figures, large enough to read from across the shop floor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from factoryos.reports.model import KpiTile
from factoryos.reports.pdf_style import ACCENT, BAD, GOOD, GRID, INK, MUTED, WARN, WHITE, styles
from factoryos.reports.values import format_value

_GAP = 6.0
_TILE_HEIGHT = 44.0
_MIN_TILE_WIDTH = 66.0
_VALUE_SIZE = 16.0

# Common OEE bands: world class from 85 %, typical from 60 %.
OEE_GOOD = 0.85
OEE_FAIR = 0.60


def _band(tile: KpiTile) -> str | None:
    """The stripe's meaning in words, so it does not rest on colour alone."""
    if tile.key != "oee" or tile.value is None:
        return None
    value = float(tile.value)  # type: ignore[arg-type]
    return "≥ 85%" if value >= OEE_GOOD else "60–85%" if value >= OEE_FAIR else "< 60%"


def _stripe(tile: KpiTile) -> Color:
    if tile.key != "oee" or tile.value is None:
        return ACCENT
    value = float(tile.value)  # type: ignore[arg-type]
    return GOOD if value >= OEE_GOOD else WARN if value >= OEE_FAIR else BAD


class KpiTiles(Flowable):
    def __init__(self, tiles: Sequence[KpiTile], tz: tzinfo) -> None:
        super().__init__()
        self.tiles = list(tiles)
        self.tz = tz
        self._per_row = len(self.tiles)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        n = len(self.tiles)
        self._per_row = max(1, min(n, int((available_width + _GAP) // (_MIN_TILE_WIDTH + _GAP))))
        rows = -(-n // self._per_row)
        self.height = rows * _TILE_HEIGHT + (rows - 1) * _GAP + 4
        return self.width, self.height

    def draw(self) -> None:
        st = styles()
        c = self.canv
        per_row = self._per_row
        tile_w = (self.width - _GAP * (per_row - 1)) / per_row
        for i, tile in enumerate(self.tiles):
            row, col = divmod(i, per_row)
            x = col * (tile_w + _GAP)
            y = self.height - (row + 1) * _TILE_HEIGHT - row * _GAP
            c.setFillColor(WHITE)
            c.setStrokeColor(GRID)
            c.setLineWidth(0.7)
            c.roundRect(x, y, tile_w, _TILE_HEIGHT, 3, stroke=1, fill=1)
            c.setFillColor(_stripe(tile))
            c.rect(x, y + 3, 3.2, _TILE_HEIGHT - 6, stroke=0, fill=1)
            c.setFillColor(MUTED)
            c.setFont(st.regular, 7.5)
            c.drawString(x + 10, y + _TILE_HEIGHT - 13, tile.label.upper())
            if band := _band(tile):
                c.drawRightString(x + tile_w - 6, y + _TILE_HEIGHT - 13, band)
            text = format_value(tile.value, tile.type, tz=self.tz, decimals=1,
                                cap=tile.display_cap)
            size = _VALUE_SIZE
            while size > 9 and stringWidth(text, st.bold, size) > tile_w - 16:
                size -= 1
            c.setFillColor(MUTED if tile.value is None else INK)
            c.setFont(st.bold, size)
            c.drawString(x + 10, y + 9, text)
