"""`app.state`, typed: what the server shares between requests, and who sets it.

Starlette's `State` is an untyped attribute bag; this subclass declares its attributes so
handlers read `ctx.state.backups` with a type instead of `getattr(state, "backups", None)`.
It stays an app-wide `State` rather than the per-request copy of lifespan state, because
some attributes change while the server runs (an activated license, the probe made on
first use) and every request must see the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.datastructures import State

from factoryos.live.snapshots import LiveSnapshots
from server.maintenance import MaintenanceGate

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from factoryos.audit.anchoring import Anchorer
    from factoryos.backup.service import BackupService
    from factoryos.config import Settings
    from factoryos.connectivity.runtime import PollerRuntime
    from factoryos.db.probe import DatabaseProbe
    from factoryos.licensing.active import LicenseState
    from server.api import Authenticator, Endpoint, RequestLimiters


class ServerState(State):
    # Set by `create_app`, before the first request.
    settings: Settings
    authenticator: Authenticator
    endpoints: list[Endpoint]
    openapi: dict[str, Any]
    maintenance: MaintenanceGate
    live_snapshots: LiveSnapshots
    # Set by the lifespan: None until it runs (or when the feature is off: no poller, no backups).
    engine: Engine  # absent until the lifespan runs
    limiters: RequestLimiters | None
    poller: PollerRuntime | None
    primary: bool
    license: LicenseState | None
    backups: BackupService | None
    anchorer: Anchorer | None
    db_probe: DatabaseProbe | None  # made by the health route on first use

    @classmethod
    def of(cls, settings: Settings, authenticator: Authenticator, *, endpoints: list[Endpoint] | None = None,
           openapi: dict[str, Any] | None = None) -> ServerState:
        state = cls()
        state.settings = settings
        state.authenticator = authenticator
        state.endpoints = endpoints or []
        state.openapi = openapi or {}
        state.maintenance = MaintenanceGate()
        state.live_snapshots = LiveSnapshots(settings.live_snapshot_seconds)
        state.limiters = None
        state.poller = None
        state.primary = True
        state.license = None
        state.backups = None
        state.anchorer = None
        state.db_probe = None
        return state


def server_state(app: Starlette) -> ServerState:
    """The typed state of an app made by `create_app`."""
    state = app.state
    assert isinstance(state, ServerState), "not an app made by server.app.create_app"
    return state
