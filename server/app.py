"""The Starlette application: routes, middleware, problem+json, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from factoryos import __version__
from factoryos.audit.writer import ensure_partitions
from factoryos.backup.standby_fence import SupersededWatch
from factoryos.config import Settings
from factoryos.db.engine import make_engine
from factoryos.db.roles import check_app_role
from server.api import Authenticator, Endpoint, RequestLimiters, make_route
from server.auth import TokenAuthenticator
from server.duties import DutyClaim, server_duties
from server.metrics import metrics_route, sampling
from server.openapi import DOCS_CSS, DOCS_HTML, DOCS_JS, build_openapi
from server.operations import operations
from server.problem import problem
from server.request_stack import RequestStack
from server.route_index import IndexedRouter
from server.routes import ROUTERS
from server.standby_fence import restart_fenced
from server.state import ServerState, server_state

log = logging.getLogger(__name__)


def all_endpoints() -> list[Endpoint]:
    return [ep for router in ROUTERS for ep in router.endpoints]


def verify_app_role(engine: Engine) -> None:
    """Refuse to run as a role that could bypass row-level security."""
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None  # a checked-out connection has its driver's
        check_app_role(driver)


def _prepare_audit_partitions(engine: Engine) -> None:
    try:
        with engine.begin() as conn:
            made = ensure_partitions(conn)
        if made:
            log.info("created %d audit log partitions", made)
    except SQLAlchemyError as exc:
        # Not fatal: the default partition still takes every row; health shows a schema behind head.
        log.warning("could not prepare audit partitions: %s", type(exc).__name__)


def create_app(
    settings: Settings,
    database_url: str,
    *,
    authenticator: Authenticator | None = None,
    check_role: bool = True,
    poller: bool = False,
    backup_url: str | None = None,
    duties: DutyClaim | None = None,
) -> Starlette:
    """The app; `poller` also runs the machine poller as a lifespan task (`factoryos serve` passes
    `settings.poller`; tests leave it off unless they test polling). `backup_url` (superuser, on
    this database) lets the server take backups, on demand and on schedule; the app role never can.
    With `duties` (several server processes, on one host or several), only the process holding the
    installation's duty lock in PostgreSQL polls, runs the backup schedule, delivers webhooks and
    publishes to MQTT (`server.duties`)."""
    endpoints = all_endpoints()
    spec = build_openapi(endpoints, title="FactoryOS API", version=__version__)
    # A paired Compose primary (`standby pair`): superseded once its standby is promoted.
    fence = SupersededWatch.of(settings.data_dir, backup_url or settings.admin_database_url, on_fenced=restart_fenced)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(database_url, pool_size=settings.db_pool_size, application_name="factoryos-server",
                             pre_ping=False)  # requests retry a dropped connection themselves (server.api)
        if check_role:
            verify_app_role(engine)
        fenced = fence is not None and await anyio.to_thread.run_sync(fence.check) is not None
        if not fenced:
            _prepare_audit_partitions(engine)
        state = server_state(app)
        state.engine = engine
        state.limiters = RequestLimiters.of(settings)
        if fenced:
            state.primary = False  # health: no process here holds the duties
        # Superseded: the licence and backup service for reads and health, no duty (nothing written).
        run: AbstractAsyncContextManager[None] = (
            operations(app, settings, backup_url, schedule=False) if fenced
            else server_duties(app, settings, database_url, engine, backup_url, poller=poller, claim=duties))  # fmt: skip
        try:
            async with run, sampling(state):
                state.live_snapshots.start(engine)
                if fence is not None and not fenced:
                    fence.start()
                yield
        finally:
            if fence is not None:
                fence.stop()
            state.live_snapshots.stop()
            engine.dispose()

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(spec)

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(DOCS_HTML)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        codes = {404: "route_not_found", 405: "method_not_allowed"}
        return problem(
            exc.status_code,
            codes.get(exc.status_code, f"http_{exc.status_code}"),
            "Not found" if exc.status_code == 404 else "Request rejected",
            str(exc.detail),
            request_id=request.scope.get("state", {}).get("request_id"),
            instance=request.url.path,
        )

    routes = [make_route(ep) for ep in endpoints]
    routes += [
        Route("/api/v1/openapi.json", openapi_json, methods=["GET"], include_in_schema=False),
        Route("/api/v1/docs", docs, methods=["GET"], include_in_schema=False),
        Route("/api/v1/docs.css", lambda request: Response(DOCS_CSS, media_type="text/css"), methods=["GET"],
              include_in_schema=False),
        Route("/api/v1/docs.js", lambda request: Response(DOCS_JS, media_type="text/javascript"), methods=["GET"],
              include_in_schema=False),
        metrics_route(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error},
                    middleware=[Middleware(RequestStack, max_body_bytes=settings.max_body_bytes,
                                           tls=settings.tls_cert is not None, watch=fence)])
    app.router = IndexedRouter(routes=routes, lifespan=lifespan)
    app.state = ServerState.of(settings, authenticator or TokenAuthenticator.from_settings(settings),
                               endpoints=endpoints, openapi=spec)
    return app
