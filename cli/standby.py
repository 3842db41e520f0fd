"""`factoryos standby status|promote`: the warm standby's replication state, and making it the primary;
`factoryos standby pair --install-dir DIR` readies a Compose primary for one (`install --standby-of`).

Run on the standby's host. After a promotion, point the terminals and the poller at this host (the
DNS name or bind address they use); the old primary refuses to serve once it sees the promotion.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.exc import DBAPIError

from cli.output import console, fail, ok
from factoryos.backup.standby import (
    REPLICATION_ROLE,
    ReplicaState,
    ReplicationStatus,
    clone,
    create_replication_role,
    database_identity,
    replica_state,
    replication_status,
)
from factoryos.backup.standby import promote as promote_standby
from factoryos.config import Settings
from factoryos.errors import FactoryOSError

app = typer.Typer(help="Warm standby: replication state and promotion to primary.", no_args_is_help=True)

InstallDirOption = Annotated[
    Path | None, typer.Option("--install-dir", help="A Compose installation (`factoryos install`) instead of a "
                              "database URL.", show_default=False)  # fmt: skip
]
UrlOption = Annotated[
    str | None, typer.Option("--url", help="The standby's superuser database URL (default: "
                             "$FACTORYOS_ADMIN_DATABASE_URL).", show_default=False)  # fmt: skip
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="standby")


def _url(url: str | None) -> str:
    found = url or Settings().admin_database_url
    if not found:
        fail("name the standby's database: --url postgresql://postgres@HOST/postgres (or FACTORYOS_ADMIN_DATABASE_URL)")
    return found


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except FactoryOSError as exc:
        fail(escape(str(exc)))
    except DBAPIError as exc:  # connection refused, authentication, …: the driver's first line says which
        fail(f"the database does not answer: {escape(str(exc.orig).strip().splitlines()[0])}")


def _describe(state: ReplicaState) -> str:
    if not state.in_recovery:
        return f"primary (timeline {state.timeline})"
    lag = "?" if state.lag_seconds is None else f"{state.lag_seconds:.1f} s"
    link = f"streaming from {state.upstream}" if state.streaming else "NOT streaming (primary away?)"
    return f"standby, {link}, replay lag {lag}, {state.behind_bytes or 0} bytes to replay (timeline {state.timeline})"


@app.command()
def status(url: UrlOption = None, as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
           install_dir: InstallDirOption = None) -> None:  # fmt: skip
    """Primary or standby; for a standby: streaming or not, and how far it lags; for a primary: each
    of its standbys and its lag (a warning past FACTORYOS_RPO_SECONDS)."""
    if install_dir is not None:
        from installer.stack import Stack
        from installer.standby_compose import compose_state

        with _errors():
            state = compose_state(Stack(install_dir.resolve()))
        replication = None
    else:
        target = _url(url)
        with _errors():
            state = replica_state(target)
            replication = None if state.in_recovery else replication_status(target, Settings().rpo_seconds)
    standbys = replication.standbys if replication is not None else ()
    if as_json:
        body = state.to_json() | ({} if state.in_recovery else {"standbys": [
            {"name": s.name, "state": s.state, "lag_bytes": s.lag_bytes, "lag_seconds": s.lag_seconds}
            for s in standbys]})  # fmt: skip
        console.print_json(json.dumps(body))
        return
    console.print(_describe(state), highlight=False)
    for line in _standby_lines(replication):
        console.print(line, highlight=False)
    if state.in_recovery and not state.streaming:
        raise typer.Exit(2)


def _standby_lines(replication: ReplicationStatus | None) -> list[str]:
    if replication is None:
        return []
    lines = []
    for s in replication.standbys:
        lag = "?" if s.lag_seconds is None else f"{s.lag_seconds:.1f} s"
        lines.append(f"  standby {escape(s.name)}: {s.state}, replay lag {lag}, {s.lag_bytes or 0} bytes behind")
    if replication.detail:
        lines.append(f"[yellow]! {escape(replication.detail)}[/]")
    return lines


@app.command("create-role")
def create_role(url: UrlOption = None) -> None:
    """On the primary: the standby's own replication login, with a new password (printed once; run again
    to change it). It may stream WAL and nothing else: no table rights."""
    password = secrets.token_urlsafe(24)
    with _errors():
        create_replication_role(_url(url), password)
    ok(f"replication role {REPLICATION_ROLE} ready; its password (shown once, for `standby clone --from`):")
    console.print(password, highlight=False)


@app.command()
def identity(url: UrlOption = None) -> None:
    """On the primary: its database's identity, which `standby clone --identity` checks on the standby."""
    with _errors():
        found = database_identity(_url(url))
    console.print(found, highlight=False)


@app.command("clone")
def clone_command(
    primary: Annotated[str, typer.Option("--from", help="The primary as the standby's replication role: "
                                         "postgresql://factoryos_standby:PASSWORD@HOST/postgres?sslmode=verify-full"
                                         "&sslrootcert=CA (password also from $PGPASSWORD).", show_default=False)],
    expect: Annotated[str, typer.Option("--identity", help="What `factoryos standby identity` printed on the "
                                        "primary: a primary of another installation is refused.", show_default=False)],
) -> None:  # fmt: skip
    """On the standby's host, nothing running: clone the primary into this host's empty data directory
    (`<data dir>/pg`, embedded database); it streams from the primary once its PostgreSQL starts."""
    pgdata = Settings().data_dir / "pg"
    with _errors():
        clone(primary, pgdata, expect_identity=expect)
    ok(f"cloned the primary into {escape(str(pgdata))}: it streams once its PostgreSQL starts")


@app.command()
def promote(url: UrlOption = None,
            yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
            install_dir: InstallDirOption = None,
            db_bind: Annotated[str | None, typer.Option("--db-bind", help="With --install-dir: the address to "
                                                        "publish the database on, where the old primary sees the "
                                                        "promotion [default: this installation's address].",
                                                        show_default=False)] = None,
            db_port: Annotated[int | None, typer.Option("--db-port", min=1, max=65535, help="With --install-dir: "
                                                        "its port [default: the old primary's].",
                                                        show_default=False)] = None) -> None:  # fmt: skip
    """Make the standby the primary (for good: the old primary must be rebuilt as a standby); with
    --install-dir, its database is published for the old primary to see the promotion, and its api, web
    screens and nginx start."""
    after = "The old primary will refuse to serve writes." if install_dir is not None else \
        "The old primary will refuse to serve."  # fmt: skip
    if not yes and not typer.confirm(f"Promote this standby to primary? {after}", default=False):
        fail("nothing was changed")
    if install_dir is not None:
        from installer.standby_compose import promote_compose

        with _errors():
            done = promote_compose(install_dir, db_bind=db_bind, db_port=db_port)
        ok(f"promoted: {_describe(done.state)}; {escape(done.url)} healthy {done.seconds:.1f} s after the command "
           f"(database {done.promote_seconds:.1f} s); now point the terminals and the poller at this host")  # fmt: skip
        return
    target = _url(url)
    with _errors():
        state = promote_standby(target)
    ok(f"promoted: {_describe(state)}; now point the terminals and the poller at this host")


@app.command()
def pair(
    standby_host: Annotated[str, typer.Option("--standby-host", help="The standby's address as this host sees it "
                                              "(or several, comma-separated; networks too): only its replication "
                                              "role may connect from there.",
                                              show_default=False)],
    install_dir: Annotated[Path, typer.Option("--install-dir", help="This Compose installation.",
                                              envvar="FACTORYOS_INSTALL_DIR")] = Path("/opt/factoryos"),
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to publish the database on.")] = 5432,
    bind: Annotated[str | None, typer.Option("--bind", help="Address to publish it on [default: the "
                                             "installation's bind address].")] = None,
    advertise: Annotated[str | None, typer.Option("--advertise", help="The address the standby reaches this host "
                                                  "by, written into the pair file [default: --bind].")] = None,
    standby_db: Annotated[str | None, typer.Option("--standby-db", help="HOST[:PORT] where the standby publishes "
                                                   "its database once promoted: this primary looks there and "
                                                   "stops taking writes [default: --standby-host, --port].",
                                                   show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the pair file [default: "
                                             "INSTALL_DIR/standby-pair.json].", dir_okay=False)] = None,
) -> None:  # fmt: skip
    """On a Compose primary: TLS and the standby's own replication role for its database, which is then
    published on --bind:--port (it restarts); writes the pair file (0600, holds the installation's
    secrets) to carry to the second host for `factoryos install --standby-of HOST --pair-file FILE`."""
    from installer.standby_compose import pair_primary

    with _errors():
        done = pair_primary(install_dir, standby_host, bind=bind, port=port, advertise=advertise,
                            standby_db=standby_db, out=out,
                            progress=lambda message: console.print(f"   {escape(message)}", highlight=False))  # fmt: skip
    ok(f"paired: the database takes its standby's role from {escape(', '.join(done.standby))} over TLS at "
       f"{escape(done.pair.host)}:{done.pair.port}; it stops taking writes once the standby at "
       f"{escape(done.peer[0])}:{done.peer[1]} is promoted")  # fmt: skip
    console.print(f"   Pair file (0600, the installation's secrets: carry it, then delete it): {escape(str(done.path))}",
                  highlight=False, soft_wrap=True)  # fmt: skip


SUPERSEDED_EXIT = 3


@app.command("fence-check", hidden=True)
def fence_check() -> None:
    """In a paired Compose primary's api container, before roles and migrations are written: exit 3 (and
    say why) when its standby was promoted, else 0. The server checks again as it starts."""
    from factoryos.backup.standby_fence import SupersededWatch

    settings = Settings()
    watch = SupersededWatch.of(settings.data_dir, settings.admin_database_url)
    reason = watch.check() if watch is not None else None
    if reason is not None:
        console.print(escape(reason), highlight=False, soft_wrap=True)
        raise typer.Exit(SUPERSEDED_EXIT)
