"""What every Admin tab shares: it loads when first shown (hidden tabs cost nothing and write no
audit rows), reloads on demand, and turns worker errors into notifications."""

from __future__ import annotations

from textual.containers import Vertical

from tui.worker_errors import ShowsWorkerErrors


class AdminTab(ShowsWorkerErrors, Vertical):
    _loaded = False

    def load(self) -> None:  # a @work method in each tab
        raise NotImplementedError

    def activate(self) -> None:
        if not self._loaded:
            self._loaded = True
            self.load()

    def action_reload(self) -> None:
        self.load()
