"""A QR code drawn with half-block characters: two modules per character cell, black on
white whatever the theme, so phone cameras read it from a terminal."""

from __future__ import annotations

import segno
from rich.text import Text
from textual.widgets import Static

_CHARS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def qr_text(data: str, *, border: int = 1) -> Text:
    code = segno.make(data, error="l", micro=False)
    rows = [[bool(v) for v in row] for row in code.matrix_iter(scale=1, border=border)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    lines = ["".join(_CHARS[(top, bottom)] for top, bottom in zip(rows[i], rows[i + 1], strict=True))
             for i in range(0, len(rows), 2)]
    return Text("\n".join(lines), style="#000000 on #ffffff", no_wrap=True)


class QrCode(Static):
    DEFAULT_CSS = """
    QrCode { width: auto; height: auto; background: #ffffff; padding: 0 1; }
    """

    def __init__(self, data: str, *, id: str | None = None) -> None:
        super().__init__(qr_text(data), id=id)
        self.data = data
