"""Colours, sizes and paragraph styles shared by the PDF parts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle

from factoryos.reports.fonts import register_fonts

INK = HexColor("#1B2430")
MUTED = HexColor("#5B6675")
ACCENT = HexColor("#1F4E79")
ACCENT_LIGHT = HexColor("#9DB7D5")
ZEBRA = HexColor("#EEF2F7")
TOTAL_BG = HexColor("#D6E0EC")
GRID = HexColor("#C9D2DD")
BELOW_TARGET = HexColor("#D9822B")
LINE = HexColor("#C0392B")
GOOD = HexColor("#2E7D32")
WARN = HexColor("#E0A100")
BAD = HexColor("#C62828")
WHITE: Color = white

BODY_SIZE = 7.5
HEADER_SIZE = 7.5
CELL_PAD_X = 4.0
CELL_PAD_Y = 2.4


@dataclass(frozen=True, slots=True)
class Styles:
    regular: str
    bold: str
    heading: ParagraphStyle
    table_heading: ParagraphStyle
    note: ParagraphStyle
    col_left: ParagraphStyle
    col_right: ParagraphStyle


@lru_cache(maxsize=1)
def styles() -> Styles:
    regular, bold = register_fonts()
    heading = ParagraphStyle(
        "heading", fontName=bold, fontSize=11.5, leading=14, textColor=ACCENT,
        spaceBefore=10, spaceAfter=5, keepWithNext=1,
    )
    return Styles(
        regular=regular,
        bold=bold,
        heading=heading,
        table_heading=ParagraphStyle("table_heading", parent=heading, keepWithNext=0),
        note=ParagraphStyle(
            "note", fontName=regular, fontSize=8, leading=10, textColor=MUTED, spaceAfter=4,
        ),
        col_left=ParagraphStyle(
            "col_left", fontName=bold, fontSize=HEADER_SIZE, leading=HEADER_SIZE + 1.5,
            textColor=WHITE, alignment=TA_LEFT,
        ),
        col_right=ParagraphStyle(
            "col_right", fontName=bold, fontSize=HEADER_SIZE, leading=HEADER_SIZE + 1.5,
            textColor=WHITE, alignment=TA_RIGHT,
        ),
    )
