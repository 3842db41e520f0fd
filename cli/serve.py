"""`factoryos serve`: the API server on the embedded PostgreSQL or FACTORYOS_DATABASE_URL."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from factoryos.backup.source import backup_source_url
from factoryos.config import Settings
from factoryos.db.engine import database, make_engine
from factoryos.logs import configure as configure_logs
from factoryos.logs import uvicorn_log_config
from cli.output import console, fail


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (a LAN IP, or 0.0.0.0). [env: FACTORYOS_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port. [env: FACTORYOS_PORT]")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Server processes sharing the port: one core each (the poller and backups run in one of them). "
             "[env: FACTORYOS_WORKERS, default 1]", min=1, max=64)] = None,
) -> None:
    """Run the FactoryOS server (API) until Ctrl+C."""
    import uvicorn

    from server.app import create_app, verify_app_role
    from server.slow_clients import PROTOCOL

    overrides = {k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None}
    settings = Settings(**overrides)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        fail("set both FACTORYOS_TLS_CERT and FACTORYOS_TLS_KEY, or neither")
    configure_logs(settings.log_level, settings.log_format)
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
    # embedded PostgreSQL below is stopped cleanly instead of the process dying mid-way.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with database(settings, prepare=settings.embedded) as urls:
        backup_url = backup_source_url(urls, settings.database_name)
        _refuse_if_superseded(settings, backup_url)
        engine = make_engine(urls.app, pool_size=1)
        try:
            verify_app_role(engine)
        finally:
            engine.dispose()
        scheme = "https" if settings.tls_cert else "http"
        where = f"embedded PostgreSQL in {settings.pg_dir}" if settings.embedded else "FACTORYOS_DATABASE_URL"
        console.print(f"[bold]FactoryOS[/] serving on {scheme}://{settings.host}:{settings.port}  (data: {where})", soft_wrap=True)
        console.print(f"health: {scheme}://{settings.host}:{settings.port}/api/v1/system/health   Ctrl+C to stop", soft_wrap=True)
        options = {
            "host": settings.host,
            "port": settings.port,
            "log_level": settings.log_level,
            "ssl_certfile": str(settings.tls_cert) if settings.tls_cert else None,
            "ssl_keyfile": str(settings.tls_key) if settings.tls_key else None,
            "proxy_headers": False,
            "server_header": False,
            "http": PROTOCOL,  # headers and bodies sent too slowly are cut off
        }
        if (log_config := uvicorn_log_config(settings.log_format)) is not None:
            options["log_config"] = log_config
        if settings.workers == 1:
            from server.workers import duty_claim  # one process among hosts: the claim is held in PostgreSQL

            uvicorn.run(create_app(settings, urls.app, poller=settings.poller, backup_url=backup_url,
                                   duties=duty_claim(settings, urls.app)), **options)
            return
        _run_workers(settings, urls.app, backup_url, options)


def _run_workers(settings: Settings, app_url: str, backup_url: str | None, options: dict) -> None:
    """uvicorn's supervisor with `settings.workers` processes; they find the database in their environment."""
    import os

    import uvicorn

    from factoryos.keys import secret_key
    from server.workers import BACKUP_URL_ENV

    secret_key(settings)  # made once here, before the workers race to make it
    os.environ["FACTORYOS_DATABASE_URL"] = app_url
    os.environ["FACTORYOS_DATA_DIR"] = str(settings.data_dir)
    for name, value in (("FACTORYOS_HOST", settings.host), ("FACTORYOS_PORT", settings.port),
                        ("FACTORYOS_WORKERS", settings.workers)):
        os.environ[name] = str(value)
    if backup_url:
        os.environ[BACKUP_URL_ENV] = backup_url
    __import__("server.metrics_setup").metrics_setup.prepare_multiprocess_metrics(settings)  # /metrics adds up workers
    console.print(f"{settings.workers} worker processes", soft_wrap=True)
    uvicorn.run("server.workers:worker_app", factory=True, workers=settings.workers, **options)


def _refuse_if_superseded(settings: Settings, own_url: str | None) -> None:
    """A primary whose warm standby was promoted must not serve a second, diverging copy."""
    from factoryos.backup.standby import check_not_superseded
    from factoryos.errors import Conflict

    peer = settings.standby_peer_url.get_secret_value() if settings.standby_peer_url else None
    if peer and not own_url:
        fail("FACTORYOS_STANDBY_PEER_URL needs the superuser URL of this database (FACTORYOS_ADMIN_DATABASE_URL)")
    try:
        check_not_superseded(own_url or "", peer, Path(settings.data_dir))
    except Conflict as exc:
        fail(exc.detail)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
