"""The screen header, safe to outlive its own children.

Textual's `Header` watches the app's title and sub-title and looks its `HeaderTitle` up when
they change. Signing out changes the sub-title while screens are being switched, so the watcher
of a header that is being taken down ran after its children were gone and crashed the app
(`NoMatches: No nodes match 'HeaderTitle'`), leaving the terminal echoing typed text.
"""

from __future__ import annotations

from textual import events
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.widget import Widget
from textual.widgets import Header as TextualHeader
from textual.widgets._header import HeaderTitle


class Header(TextualHeader):
    def _on_mount(self, event: events.Mount) -> None:
        Widget._on_mount(self, event)
        # Ours instead of Textual's watchers: the same updates, skipped once the header is going.
        event.prevent_default()
        if not self.app.ENABLE_COMMAND_PALETTE:
            self.icon = ""  # Textual's ⭘ opens the command palette: no icon while there is none
        for node, name in ((self.app, "title"), (self.app, "sub_title"),
                           (self.screen, "title"), (self.screen, "sub_title")):
            self.watch(node, name, self._set_title)

    def _set_title(self) -> None:
        if not self.is_attached or self._closing or self._closed:
            return
        try:
            self.query_one(HeaderTitle).update(self.format_title())
        except (NoMatches, NoScreen):
            pass  # taken down between the change and this call
