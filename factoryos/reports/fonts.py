"""The TrueType font embedded in PDFs, so any name (Łukasz, Ñúñez, Γιώργος, Дмитрий) renders.

Fira Sans ships as a Python package (fontpkg-fira-sans, OFL) and so installs with
FactoryOS on air-gapped hosts; Debian's DejaVu is the fallback when it is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from factoryos.reports.errors import ReportFontMissing

log = logging.getLogger(__name__)

REGULAR = "FactoryOS-Sans"
BOLD = "FactoryOS-Sans-Bold"

_DEBIAN_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True, slots=True)
class FontFiles:
    regular: Path
    bold: Path


def _packaged() -> FontFiles | None:
    try:
        import fontpkg_fira_sans
    except ImportError:
        return None
    files = Path(fontpkg_fira_sans.ROOT) / "files"
    found = FontFiles(files / "FiraSans-Regular.ttf", files / "FiraSans-SemiBold.ttf")
    return found if found.regular.is_file() and found.bold.is_file() else None


def _debian() -> FontFiles | None:
    found = FontFiles(_DEBIAN_DEJAVU / "DejaVuSans.ttf", _DEBIAN_DEJAVU / "DejaVuSans-Bold.ttf")
    return found if found.regular.is_file() and found.bold.is_file() else None


def font_files() -> FontFiles:
    found = _packaged() or _debian()
    if found is None:
        raise ReportFontMissing(
            "No report font found: install the Python package 'fontpkg-fira-sans' "
            "(a FactoryOS dependency) or Debian's 'fonts-dejavu-core'."
        )
    return found


@lru_cache(maxsize=1)
def register_fonts() -> tuple[str, str]:
    """Register the regular and bold faces once per process; returns their names."""
    files = font_files()
    log.debug("report fonts: %s, %s", files.regular, files.bold)
    pdfmetrics.registerFont(TTFont(REGULAR, str(files.regular)))
    pdfmetrics.registerFont(TTFont(BOLD, str(files.bold)))
    # <b> in paragraphs picks the bold face.
    addMapping(REGULAR, 0, 0, REGULAR)
    addMapping(REGULAR, 1, 0, BOLD)
    addMapping(REGULAR, 0, 1, REGULAR)
    addMapping(REGULAR, 1, 1, BOLD)
    return REGULAR, BOLD
