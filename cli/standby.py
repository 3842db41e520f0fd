"""`factoryos standby status|promote`: the warm standby's replication state, and making it the primary.

Run on the standby's host. After a promotion, point the terminals and the poller at this host (the
DNS name or bind address they use); the old primary refuses to serve once it sees the promotion.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.exc import DBAPIError

from cli.output import console, fail, ok
from factoryos.backup.standby import ReplicaState, replica_state
from factoryos.backup.standby import promote as promote_standby
from factoryos.config import Settings
from factoryos.errors import FactoryOSError

app = typer.Typer(help="Warm standby: replication state and promotion to primary.", no_args_is_help=True)

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
           ) -> None:  # fmt: skip
    """Primary or standby; for a standby: streaming or not, and how far it lags."""
    with _errors():
        state = replica_state(_url(url))
    if as_json:
        console.print_json(json.dumps(state.to_json()))
        return
    console.print(_describe(state), highlight=False)
    if state.in_recovery and not state.streaming:
        raise typer.Exit(2)


@app.command()
def promote(url: UrlOption = None,
            yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False) -> None:  # fmt: skip
    """Make the standby the primary (for good: the old primary must be rebuilt as a standby)."""
    target = _url(url)
    if not yes and not typer.confirm("Promote this standby to primary? The old primary will refuse to serve.",
                                     default=False):  # fmt: skip
        fail("nothing was changed")
    with _errors():
        state = promote_standby(target)
    ok(f"promoted: {_describe(state)}; now point the terminals and the poller at this host")
