"""One line: online or offline, and how many entries wait in the outbox."""

from __future__ import annotations

from textual.widgets import Static


class ConnectionStatus(Static):
    """Follows the app's `online` and `queue_length`."""

    DEFAULT_CSS = """
    ConnectionStatus { height: 1; width: auto; padding: 0 1; }
    ConnectionStatus.-offline { background: $error; color: $text; text-style: bold; }
    ConnectionStatus.-queued { background: $warning; color: $background; text-style: bold; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "online", self._refresh_status)
        self.watch(self.app, "queue_length", self._refresh_status)

    def _refresh_status(self, _value: object = None) -> None:
        online: bool = self.app.online  # type: ignore[attr-defined]
        queued: int = self.app.queue_length  # type: ignore[attr-defined]
        state = "● Online" if online else "○ OFFLINE"
        waiting = f"Queue {queued}" + (" waiting" if queued else "")
        self.update(f"{state} · {waiting}")
        self.set_class(not online, "-offline")
        self.set_class(online and queued > 0, "-queued")
