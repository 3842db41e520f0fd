"""System endpoints: health (public, for load balancers and the installer)."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from factoryos import __version__
from factoryos.db.migrate import current_revision, head_revision
from server.api import PUBLIC, Context, Router

router = Router(prefix="/api/v1/system", tags=("system",))


class ComponentHealth(BaseModel):
    ok: bool
    detail: str | None = None


class MigrationHealth(ComponentHealth):
    current: str | None = None
    head: str


class Health(BaseModel):
    status: str
    version: str
    database: ComponentHealth
    migrations: MigrationHealth


@router.get("/health", permission=PUBLIC, response=Health, uses_db=False)
def health(ctx: Context) -> JSONResponse:
    """Database reachable and migrations at head (200), or what is wrong (503)."""
    head = head_revision()
    db = ComponentHealth(ok=False)
    migrations = MigrationHealth(ok=False, head=head)
    try:
        with ctx.state.engine.connect() as conn:
            conn.execute(text("select 1"))
            db = ComponentHealth(ok=True)
            migrations.current = current_revision(conn)
            migrations.ok = migrations.current == head
            if not migrations.ok:
                migrations.detail = "run `factoryos db upgrade`"
    except SQLAlchemyError as exc:
        db.detail = type(exc.orig).__name__ if getattr(exc, "orig", None) else type(exc).__name__
    healthy = db.ok and migrations.ok
    body = Health(status="ok" if healthy else "unavailable", version=__version__, database=db, migrations=migrations)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if healthy else 503)
