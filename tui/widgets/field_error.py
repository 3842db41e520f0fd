"""A refusal shown under the field it names, in words an operator acts on."""

from __future__ import annotations

from textual.widgets import Static


class FieldError(Static):
    """Hidden until `show`; the field it belongs to gets the `-invalid` class meanwhile."""

    DEFAULT_CSS = """
    FieldError { display: none; height: auto; color: $text-error; text-style: bold; padding: 0 1 0 10; }
    FieldError.-shown { display: block; }
    """

    def show(self, text: str) -> None:
        self.update(f"▲ {text}")
        self.add_class("-shown")

    def clear(self) -> None:
        self.update("")
        self.remove_class("-shown")
