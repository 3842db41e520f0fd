"""One line: online or offline, how many entries wait in the outbox, and how many it could not send."""

from __future__ import annotations

from textual.widgets import Static


class ConnectionStatus(Static):
    """Follows the app's `online`, `queue_length` and `failed_count`."""

    DEFAULT_CSS = """
    ConnectionStatus { height: 1; width: auto; padding: 0 1; }
    ConnectionStatus.-offline { background: $error; color: $text; text-style: bold; }
    ConnectionStatus.-queued { background: $warning; color: $background; text-style: bold; }
    ConnectionStatus.-failed { background: $error; color: $text; text-style: bold; }
    ConnectionStatus.-sending { background: $accent; color: $background; text-style: bold; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "online", self._refresh_status)
        self.watch(self.app, "queue_length", self._refresh_status)
        self.watch(self.app, "failed_count", self._refresh_status)
        self.watch(self.app, "sending", self._refresh_status)

    def _refresh_status(self, _value: object = None) -> None:
        online: bool = self.app.online  # type: ignore[attr-defined]
        queued: int = self.app.queue_length  # type: ignore[attr-defined]
        # While a request is out, nobody knows yet: a hung server must not read as "Online".
        sending: int = getattr(self.app, "sending", 0)
        state = "◌ Sending…" if sending else "● Online" if online else "○ OFFLINE"
        failed: int = getattr(self.app, "failed_count", 0)
        waiting = f"Queue {queued}" + (" waiting" if queued else "")
        self.update(f"{state} · {waiting}" + (f" · Failed {failed}" if failed else ""))
        self.set_class(bool(sending), "-sending")
        self.set_class(not sending and not online, "-offline")
        self.set_class(not sending and online and queued > 0, "-queued")
        self.set_class(not sending and online and not queued and failed > 0, "-failed")
