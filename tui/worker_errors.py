"""Failed workers become notifications, wherever they run.

A worker reports its state to the node that started it only (`Worker.StateChanged` does not
bubble), so every screen and pane that runs workers with `exit_on_error=False` takes this
mixin and hands failures to the app, which shows them (or signs out when the session ended).
"""

from __future__ import annotations

from typing import Any

from textual.worker import Worker, WorkerState


class ShowsWorkerErrors:
    app: Any

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.app.show_error(event.worker.error)
