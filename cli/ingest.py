"""`factoryos ingest`: store what the site edges publish; run one or several (shared subscription).
`--retire CLIENT_ID` ends the broker session of a process that will not come back, storing what was
queued for it. Register with `ingest.register(app)`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer

from cli.output import console, fail, ok

STATUS_EVERY = 60.0


def ingest(
    broker: Annotated[str, typer.Option(help="mqtts://host:port of the broker.")],
    username: Annotated[str, typer.Option(help="The ingest's broker user.")] = "factoryos-ingest",
    ca_certificate: Annotated[Path | None, typer.Option(help="CA of the broker's certificate (PEM).")] = None,
    client_id: Annotated[str | None, typer.Option(
        help="Stable per process (its session keeps what it has not stored yet); default: from the host name.")] = None,
    share: Annotated[str, typer.Option(help="Shared subscription group: processes in one group share the load.")]
    = "factoryos-ingest",
    duration: Annotated[float | None, typer.Option(min=0, help="Stop after this many seconds.")] = None,
    session_expiry: Annotated[int, typer.Option(
        min=1, max=86400, help="Seconds the broker keeps a crashed process's session (and queues its share of "
                               "messages) for it to come back. A clean stop ends the session at once.")] = 600,
    retire: Annotated[str | None, typer.Option(
        help="Retire the session of a process that will not come back (e.g. a crashed host's client id): store "
             "what the broker queued for it, then end the session; the others get all new messages.",
        show_default=False)] = None,
) -> None:
    """Store the site edges' events from the broker (password from FACTORYOS_INGEST_PASSWORD)."""
    from factoryos.config import Settings
    from factoryos.db.engine import database

    settings = Settings()
    if settings.ingest_password is None:
        fail("set FACTORYOS_INGEST_PASSWORD to the ingest's broker password")
    password = settings.ingest_password.get_secret_value()
    from factoryos.edge.publisher import BrokerSettings

    try:
        settings_broker = BrokerSettings.from_url(broker, username, password, ca_certificate=ca_certificate)
    except ValueError as exc:
        fail(str(exc))
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with database(settings) as urls:
        if retire is not None:
            stored = asyncio.run(_retire(urls.app, settings_broker, retire, share))
            ok(f"Session {retire} retired: {stored} queued messages stored; new messages go to the other processes")
            return
        asyncio.run(_run(urls.app, settings_broker, client_id or f"factoryos-ingest-{socket.gethostname()}", share,
                         duration, session_expiry))


async def _retire(database_url: str, broker: object, client_id: str, share: str) -> int:
    import aiomqtt

    from factoryos.db.engine import make_engine
    from factoryos.ingest.service import IngestService, StillRunning

    engine = make_engine(database_url, pool_size=2, application_name="factoryos-ingest")
    try:
        return await IngestService(engine, broker, client_id=client_id, share=share).retire()  # type: ignore[arg-type]
    except StillRunning as exc:
        fail(str(exc))
    except aiomqtt.MqttError as exc:
        fail(f"could not reach the broker to retire {client_id}: {exc}")
    finally:
        engine.dispose()


async def _run(database_url: str, broker: object, client_id: str, share: str, duration: float | None,
               session_expiry: int) -> None:
    from factoryos.db.engine import make_engine
    from factoryos.ingest.service import IngestService

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    engine = make_engine(database_url, pool_size=2, application_name="factoryos-ingest")
    service = IngestService(engine, broker, client_id=client_id, share=share,  # type: ignore[arg-type]
                            session_expiry=session_expiry)
    task = asyncio.create_task(service.run(stop))
    log = logging.getLogger("factoryos.ingest")
    ok(f"Ingest {client_id} storing events from {service.topic}")
    try:
        deadline = None if duration is None else loop.time() + duration
        while not stop.is_set():
            wait = STATUS_EVERY if deadline is None else min(STATUS_EVERY, deadline - loop.time())
            if wait <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            s = service.stats
            log.info("%d messages, %d events stored, %d messages refused", s.messages, s.events, s.refused_messages)
    finally:
        stop.set()
        await task
        engine.dispose()
    console.print("Ingest stopped.")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
