"""Screens that read the server again every poll interval while they are shown."""

from __future__ import annotations

from collections.abc import Callable

from textual.timer import Timer
from textual.worker import get_current_worker

from tui.screens.base import AppScreen


class PollingScreen(AppScreen):
    """Runs `poll()` (a worker in the group "poll") now and, after each round, again one poll
    interval later; pauses while another screen covers it. `poll` ends with `self.poll_again()`."""

    _timer: Timer | None = None
    poll: Callable[[], object]  # the subclass's worker: one round of reading and drawing

    def can_poll(self) -> bool:
        """False while there is nothing to read yet (e.g. no site chosen)."""
        return True

    def action_refresh(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.can_poll():
            self.poll()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.workers.cancel_group(self, "poll")

    def on_screen_resume(self) -> None:
        if self.can_poll():
            self.action_refresh()

    def poll_again(self) -> None:
        """From `poll`'s `finally`: the next round, unless the round was cancelled or the screen is gone."""
        if not get_current_worker().is_cancelled and self.is_attached:
            self._timer = self.set_timer(self.factory.poll_seconds, self.poll)
