"""A text field that keeps up with a barcode scanner.

A scanner types a code, Enter and often the next value (a quantity, Enter) in one burst,
faster than the screen can act on the first Enter. A plain `Input` would take the whole
burst, so the code became "lathe-0212" and the quantity was lost. After Enter this field
holds what follows (`overflow`) until the screen has taken the code (`take_overflow`).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class ScanInput(Input):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._submitted = False
        self._overflow = ""

    async def action_submit(self) -> None:
        if self._submitted:  # the burst's next Enter: it belongs to the next field
            self._overflow += "\r"
            return
        self._submitted = True
        await super().action_submit()

    async def _on_key(self, event: events.Key) -> None:
        # Enter is handled here, in key order: as a binding it would run only after the keys
        # behind it had been typed into this field.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            await self.action_submit()
            return
        if self._submitted and event.is_printable and event.character is not None:
            event.stop()
            event.prevent_default()
            self._overflow += event.character
            return
        await super()._on_key(event)

    def take_overflow(self) -> str:
        """What was typed after Enter (with "\r" for a further Enter); the field takes keys again."""
        overflow, self._overflow, self._submitted = self._overflow, "", False
        return overflow
