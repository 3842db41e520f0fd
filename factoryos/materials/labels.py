"""Lot labels: ZPL for Zebra printers (sent raw with `lp -o raw`) and a PDF label, both with a
GS1-128 barcode when the item has a GTIN (01 GTIN, 17 expiry, 10 lot), else Code 128 of the lot number.

The barcode reads back through the terminal's scan parser: what is printed is what is scanned.
The PDF's barcode is drawn by reportlab's Code 128 (FNC1 written as \\xf1).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.units import mm  # a constant (6 ms): the canvas and barcode load with the first PDF label

FNC1 = "\xf1"
GS = "\x1d"
WIDTH, HEIGHT = 100 * mm, 50 * mm


@dataclass(frozen=True)
class LabelData:
    item_number: str
    item_name: str
    lot: str
    gtin: str | None
    expires_on: date | None
    quantity: str | None
    unit: str
    supplier_lot: str | None = None


def element_string(d: LabelData, separator: str = GS) -> str | None:
    """The GS1 element string (fixed-length AIs first, the lot last so it needs no separator)."""
    if not d.gtin:
        return None
    parts = "01" + d.gtin
    if d.expires_on:
        parts += "17" + d.expires_on.strftime("%y%m%d")
    return parts + "10" + d.lot


def human_readable(d: LabelData) -> str:
    if not d.gtin:
        return d.lot
    expiry = f"(17){d.expires_on:%y%m%d}" if d.expires_on else ""
    return f"(01){d.gtin}{expiry}(10){d.lot}"


def _zpl_text(value: str) -> str:
    """ZPL field data: ^ and ~ are commands, so they (and non-ASCII, as UTF-8 bytes for ^CI28) go as hex (^FH)."""
    return "".join("".join(f"_{b:02X}" for b in c.encode()) if c in "^~_" or ord(c) > 126 else c for c in value)


def zpl_label(d: LabelData) -> str:
    """A 100 × 50 mm label at 203 dpi."""
    gs1 = element_string(d)
    barcode = (f"^FO30,200^BY2^BCN,80,Y,N,N,D^FD{human_readable(d)}^FS" if gs1
               else f"^FO30,200^BY2^BCN,80,Y,N,N^FH^FD{_zpl_text(d.lot)}^FS")
    lines = [
        "^XA", "^CI28", "^PW800", "^LL400",
        f"^FO30,20^A0N,40,40^FH^FD{_zpl_text(d.item_number)}^FS",
        f"^FO30,65^A0N,28,28^FH^FD{_zpl_text(d.item_name[:40])}^FS",
        f"^FO30,105^A0N,34,34^FH^FDLot {_zpl_text(d.lot)}^FS",
        f"^FO30,145^A0N,26,26^FH^FD{_zpl_text(_details(d))}^FS",
        barcode, "^XZ",
    ]
    return "\n".join(lines) + "\n"


def _details(d: LabelData) -> str:
    bits = []
    if d.quantity:
        bits.append(f"Qty {d.quantity} {d.unit}")
    if d.expires_on:
        bits.append(f"Exp {d.expires_on.isoformat()}")
    if d.supplier_lot:
        bits.append(f"Supplier lot {d.supplier_lot}")
    return " · ".join(bits)


def pdf_label(d: LabelData) -> bytes:
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    c = Canvas(out, pagesize=(WIDTH, HEIGHT))
    c.setTitle(f"Lot {d.lot}")
    c.setFont("Helvetica-Bold", 14)
    c.drawString(5 * mm, HEIGHT - 9 * mm, d.item_number)
    c.setFont("Helvetica", 9)
    c.drawString(5 * mm, HEIGHT - 14 * mm, d.item_name[:60])
    c.setFont("Helvetica-Bold", 12)
    c.drawString(5 * mm, HEIGHT - 20 * mm, f"Lot {d.lot}")
    c.setFont("Helvetica", 8)
    c.drawString(5 * mm, HEIGHT - 25 * mm, _details(d))
    gs1 = element_string(d)
    value = FNC1 + gs1 if gs1 else d.lot
    bar = Code128(value, barHeight=13 * mm, barWidth=0.28 * mm, humanReadable=False, quiet=False)
    scale = min(1.0, (WIDTH - 10 * mm) / bar.width)
    c.saveState()
    c.translate(5 * mm, 7 * mm)
    c.scale(scale, 1)
    bar.drawOn(c, 0, 0)
    c.restoreState()
    c.setFont("Courier", 8)
    c.drawString(5 * mm, 3 * mm, human_readable(d))
    c.showPage()
    c.save()
    return out.getvalue()
