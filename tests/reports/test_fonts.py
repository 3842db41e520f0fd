"""The PDF font ships with the package; its absence is a clear configuration error."""

from __future__ import annotations

import pytest

from factoryos.reports import ReportFontMissing, fonts


def test_packaged_font_is_found() -> None:
    files = fonts.font_files()
    assert files.regular.is_file() and files.bold.is_file()
    assert files.regular.suffix == ".ttf"


def test_missing_font_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "_packaged", lambda: None)
    monkeypatch.setattr(fonts, "_debian", lambda: None)
    with pytest.raises(ReportFontMissing) as caught:
        fonts.font_files()
    assert caught.value.code == "report_font_missing"
    assert "fontpkg-fira-sans" in str(caught.value) and "fonts-dejavu-core" in str(caught.value)
