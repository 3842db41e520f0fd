"""A dialog's row of buttons, styled by `.dialog-buttons` in the app's stylesheet.

    yield save_cancel()                      # Save (Ctrl+S) · Cancel, ids save and cancel
    yield dialog_buttons(Button("Yes (y)", variant="error", id="yes"), Button("No (n)", id="no"))
"""

from __future__ import annotations

from textual.containers import Horizontal
from textual.widgets import Button

SAVE = "Save (Ctrl+S)"
CANCEL = "Cancel"


def dialog_buttons(*buttons: Button, classes: str = "") -> Horizontal:
    return Horizontal(*buttons, classes=f"dialog-buttons {classes}".rstrip())


def save_cancel(*, save_id: str = "save", cancel_id: str = "cancel", save: str = SAVE,
                cancel: str = CANCEL) -> Horizontal:
    """The form's Save (the primary action, Ctrl+S) and Cancel buttons."""
    return dialog_buttons(Button(save, variant="primary", id=save_id), Button(cancel, id=cancel_id))
