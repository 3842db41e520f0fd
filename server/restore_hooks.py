"""What the running server does around a restore it was asked for.

The poller stops writing when the restore starts (machines are still polled; events wait
in its spool and go into the restored database). For the swap itself the maintenance gate
turns requests away with 503 and waits for the ones inside; afterwards the connection pools
are dropped, since every connection to the old database was terminated.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from factoryos.audit.anchors import set_aside_after_restore
from factoryos.backup.restore_job import RestoreJob

if TYPE_CHECKING:
    from factoryos.connectivity.runtime import PollerRuntime
    from server.state import ServerState

log = logging.getLogger(__name__)

SWAP_REASON = "the database is being replaced by a backup: try again in a few seconds"


class ServerRestoreHooks:
    def __init__(self, state: ServerState) -> None:
        self.state = state  # the app's state: engine, poller, maintenance gate

    @property
    def _poller(self) -> PollerRuntime | None:
        return self.state.poller

    def started(self, job: RestoreJob) -> None:
        if self._poller is not None:
            self._poller.pause()

    def before_swap(self, job: RestoreJob) -> None:
        if not self.state.maintenance.close(SWAP_REASON):
            log.warning("requests still running when the restore of %s swaps the database", job.backup)

    def after_swap(self, job: RestoreJob) -> None:
        try:
            self.state.engine.dispose()
        finally:
            self.state.maintenance.open()

    def finished(self, job: RestoreJob) -> None:
        if job.state == "succeeded":
            kept = set_aside_after_restore(self.state.settings.data_dir)
            if kept is not None:
                log.info("audit anchors signed before the restore kept in %s", kept)
            anchorer = self.state.anchorer
            if anchorer is not None:
                anchorer.forget()
        if self._poller is not None:
            self._poller.resume()
