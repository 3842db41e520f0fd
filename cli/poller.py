"""`factoryos poller`: poll machines in a process of its own, without the API server.

Run it with `FACTORYOS_POLLER=0` on the server, or both would poll (the second one to
start on the same data directory refuses to run). Register with `poller.register(app)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from cli.output import console, fail, ok
from factoryos.config import Settings

if TYPE_CHECKING:
    from factoryos.connectivity.runtime import PollerRuntime

STATUS_EVERY = 60.0


def poller(
    reload_seconds: Annotated[
        float | None,
        typer.Option("--reload", min=0.1, max=3600,
                     help="Seconds between re-reading connection settings. \\[env: FACTORYOS_POLLER_RELOAD_SECONDS]"),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds (default: until Ctrl+C).")
    ] = None,
) -> None:
    """Poll every company's connected machines into the database until Ctrl+C."""
    from factoryos.db.engine import database

    overrides = {"poller_reload_seconds": reload_seconds} if reload_seconds is not None else {}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("pgserver", "asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    with database(settings, prepare=settings.embedded) as urls:
        asyncio.run(_run(settings, urls.app, duration))


async def _run(settings: Settings, database_url: str, duration: float | None) -> None:
    from factoryos.connectivity.runtime import PollerBusy, PollerRuntime, freeze_startup_heap

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runtime = PollerRuntime.from_settings(settings, database_url)
    try:
        await runtime.start()
    except PollerBusy as exc:
        fail(str(exc))
    freeze_startup_heap()
    log = logging.getLogger("factoryos.poller")
    try:
        machines = len(runtime.statuses())
        ok(f"Polling {machines} machine{'s' if machines != 1 else ''} of {len(runtime.tenants)} companies; "
           f"spool in {runtime.directory}")
        console.print("Press Ctrl+C to stop." if duration is None else f"Running for {duration:g} s.")
        deadline = None if duration is None else loop.time() + duration
        while not stop.is_set():
            wait = STATUS_EVERY if deadline is None else min(STATUS_EVERY, deadline - loop.time())
            if wait <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            _log_status(log, runtime)
    finally:
        await runtime.stop()
    console.print("Poller stopped.")


def _log_status(log: logging.Logger, runtime: PollerRuntime) -> None:
    statuses = runtime.statuses()
    failing = sum(1 for s in statuses if s.last_error is not None)
    pending = runtime.forwarder.pending if runtime.forwarder else 0
    timing = runtime.poller.timing if runtime.poller else None
    late = f"{timing.late}/{timing.polls}" if timing else "0/0"
    log.info("%d machines (%d failing), %d events waiting for the database, late polls %s",
             len(statuses), failing, pending, late)


def register(app: typer.Typer) -> None:
    app.command("poller")(poller)
