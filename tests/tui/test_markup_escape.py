"""People's text in markup is shown as typed by both parsers a screen uses."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.markup import to_content

from tui.markup import escape

TYPED = ["Press [B2]", "Day [A]", "[b]bold[/b]", "x [@click=app.quit]q[/]", "[#fff]", "a\\[b] c", "[1]"]


@pytest.mark.parametrize("typed", TYPED)
def test_textual_markup_shows_it_as_typed(typed: str) -> None:
    assert to_content(f"[b]{escape(typed)}[/b] · {escape(typed)}").plain == f"{typed} · {typed}"


@pytest.mark.parametrize("typed", [t for t in TYPED if "\\[" not in t])  # Rich reads `\\[` as `\` and a tag
def test_rich_markup_of_table_cells_shows_it_as_typed(typed: str) -> None:
    assert Text.from_markup(f"[b]{escape(typed)}[/b]").plain == typed
