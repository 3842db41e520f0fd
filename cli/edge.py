"""`factoryos edge --config edge.toml`: run a site edge; `factoryos edge broker-acl`: the broker's
password and ACL files for the registered edges. Register with `edge.register(app)`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from cli.output import console, fail, ok

app = typer.Typer(help="Site edges: poll a site's machines and publish to the broker.", no_args_is_help=False)
STATUS_EVERY = 60.0


@app.callback(invoke_without_command=True)
def edge(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", help="The edge's edge.toml.")] = None,
    duration: Annotated[float | None, typer.Option(min=0, help="Stop after this many seconds.")] = None,
) -> None:
    """Poll the site's machines and publish their events to the broker until Ctrl+C."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        fail("give the edge's settings: factoryos edge --config edge.toml")
    from factoryos.edge.settings import EdgeSettings
    from factoryos.errors import FactoryOSError

    try:
        settings = EdgeSettings.load(config)
    except FactoryOSError as exc:
        fail(str(exc))
    from factoryos.config import Settings

    logging.basicConfig(level=Settings().log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(_run(settings, duration))


def _fetcher(settings: object):  # type: ignore[no-untyped-def]
    import httpx

    from factoryos.edge.edge_models import EdgeConfigOut
    from factoryos.edge.settings import EdgeSettings

    assert isinstance(settings, EdgeSettings)
    section = settings.file.edge
    if not section.server:
        return None
    verify: str | bool = str(section.server_ca_certificate) if section.server_ca_certificate else True
    url = section.server.rstrip("/") + "/api/v1/edge/config"
    headers = {"Authorization": f"Bearer {section.token.get_secret_value()}"}

    async def fetch() -> EdgeConfigOut:
        async with httpx.AsyncClient(verify=verify, timeout=15.0) as client:
            answer = await client.get(url, headers=headers)
        if answer.status_code != 200:
            detail = answer.json().get("detail", answer.text) if answer.headers.get(
                "content-type", "").endswith("json") else answer.text
            raise RuntimeError(f"the server answered {answer.status_code}: {detail}")
        return EdgeConfigOut.model_validate(answer.json())

    return fetch


async def _run(settings: object, duration: float | None) -> None:
    from factoryos.edge.runtime import EdgeRuntime
    from factoryos.errors import FactoryOSError

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runtime = EdgeRuntime(settings, _fetcher(settings))  # type: ignore[arg-type]
    try:
        await runtime.start()
    except FactoryOSError as exc:
        fail(str(exc))
    log = logging.getLogger("factoryos.edge")
    try:
        count = len(runtime.poller.machines) if runtime.poller else 0
        ok(f"Edge {runtime.settings.node} polling {count} machine{'s' if count != 1 else ''} "
           f"(list from the {runtime.source}); spool in {runtime.directory}")
        deadline = None if duration is None else loop.time() + duration
        while not stop.is_set():
            wait = STATUS_EVERY if deadline is None else min(STATUS_EVERY, deadline - loop.time())
            if wait <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            pending = runtime.forwarder.pending if runtime.forwarder else 0
            log.info("%d events waiting for the broker; %d messages published",
                     pending, runtime.publisher.published)
    finally:
        await runtime.stop()
    console.print("Edge stopped.")


@app.command("broker-acl")
def broker_acl(
    out: Annotated[Path, typer.Option("--out", help="Directory to write `passwords` and `acl` into.")],
    ingest_user: Annotated[str, typer.Option(help="The ingest processes' broker user.")] = "factoryos-ingest",
    company: Annotated[str | None, typer.Option(help="Only this company (id or name).")] = None,
) -> None:
    """Write Mosquitto's password_file and acl_file for every edge in force (ingest password from
    FACTORYOS_INGEST_PASSWORD); reload the broker (SIGHUP) after."""
    from factoryos.audit.companies import resolve
    from factoryos.config import Settings
    from factoryos.db.engine import database, make_engine
    from factoryos.db.tenant import tenant_transaction
    from factoryos.edge.registry import broker_files, edges_in_force

    settings = Settings()
    if settings.ingest_password is None:
        fail("set FACTORYOS_INGEST_PASSWORD to the ingest processes' broker password")
    password = settings.ingest_password.get_secret_value()
    with database(settings) as urls:
        engine = make_engine(urls.app, pool_size=1, application_name="factoryos-edge-acl")
        try:
            with tenant_transaction(engine, None) as conn:
                companies = resolve(conn, company)
            rows = []
            for tenant_id, _ in companies:
                with tenant_transaction(engine, tenant_id) as conn:
                    rows += edges_in_force(conn, tenant_id)
        finally:
            engine.dispose()
    passwords, acl = broker_files(rows, {ingest_user: password})
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("passwords", passwords), ("acl", acl)):
        fd = os.open(out / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    ok(f"Wrote {out / 'passwords'} and {out / 'acl'} for {len(rows)} edges")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="edge")
