"""`factoryos webhooks …`: the signed-in company's webhook endpoints, over the API.

`add` prints the signing secret once: put it into the receiver then (it is never shown again).
An endpoint is named by its id or the first characters of it (as `list` shows them).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar
from uuid import UUID

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from cli.output import console, fail, ok
from cli.session import NotSignedIn, signed_in_client
from factoryos.client import ClientError, FactoryClient
from factoryos.integrations.webhook_models import EVENT_TYPES, DeliveryOut, EndpointCreated, EndpointIn, EndpointOut

app = typer.Typer(help="Webhooks of the company you signed in to: list, add, remove, test, deliveries.",
                  no_args_is_help=True)

T = TypeVar("T")
STATUSES = ("pending", "delivered", "failed")
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")]
EndpointArg = Annotated[str, typer.Argument(help="The endpoint's id, or its first characters as `list` shows.")]


def _call(work: Callable[[FactoryClient], Awaitable[T]]) -> T:
    """Run `work` with the signed-in client; a user error is one red line and exit 1."""
    async def run() -> T:
        async with signed_in_client() as (client, _):
            return await work(client)

    try:
        return asyncio.run(run())
    except NotSignedIn as exc:
        fail(escape(str(exc)))
    except ClientError as exc:
        fail(escape(exc.detail))


async def _resolve(client: FactoryClient, ref: str) -> EndpointOut:
    text = ref.strip().lower()
    if not text:
        raise ClientError("webhook_not_found", "give the endpoint's id (see `factoryos webhooks list`)")
    found = [e for e in (await client.webhooks()).items if str(e.id).startswith(text)]
    if len(found) != 1:
        what = "no endpoint" if not found else f"{len(found)} endpoints"
        raise ClientError("webhook_not_found", f"{what} with an id starting {ref.strip()!r}: see `factoryos webhooks list`")
    return found[0]


def _when(value: object) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""  # type: ignore[attr-defined]


@app.command("list")
def list_webhooks(as_json: Json = False) -> None:
    """The endpoints: address, events, and whether they are on."""
    items = _call(lambda client: client.webhooks()).items
    if as_json:
        console.print_json(json.dumps([i.model_dump(mode="json") for i in items]))
        return
    if not items:
        console.print("No webhook endpoints. Add one with `factoryos webhooks add --url … --event …`.")
        return
    table = Table(box=box.SIMPLE)
    for column in ("id", "url", "events", "on", "failures", "description"):
        table.add_column(column, no_wrap=column in ("id", "on"))
    for e in items:
        state = "yes" if e.enabled else "[red]off[/]"
        table.add_row(str(e.id)[:8], escape(e.url), escape(", ".join(e.events)), state, str(e.consecutive_failures),
                      escape(e.disabled_reason or e.description))
    console.print(table)


@app.command("add")
def add_webhook(
    url: Annotated[str, typer.Option("--url", help="http:// or https:// address that receives the events.")],
    event: Annotated[list[str], typer.Option(
        "--event", "-e", help="An event to send (repeat for more): " + ", ".join(EVENT_TYPES) + ".")],
    description: Annotated[str, typer.Option("--description", help="What receives them, for the list.")] = "",
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    as_json: Json = False,
) -> None:
    """Register an endpoint; prints its signing secret, once."""
    unknown = [e for e in event if e not in EVENT_TYPES]
    if unknown:
        fail(f"--event: {escape(unknown[0])!s} is not one of {', '.join(EVENT_TYPES)}")
    events: list = list(dict.fromkeys(event))  # checked against EVENT_TYPES above
    body = EndpointIn.model_construct(url=url, events=events, description=description, enabled=not disabled)
    made = _call(lambda client: client.add_webhook(body))
    if as_json:
        console.print_json(made.model_dump_json())
        return
    ok(f"endpoint {str(made.id)[:8]} added for {escape(made.url)}")
    console.print(f"signing secret (shown only now): [bold]{made.secret}[/]", highlight=False, soft_wrap=True)


@app.command("remove")
def remove_webhook(endpoint: EndpointArg) -> None:
    """Remove an endpoint and its delivery log."""
    async def work(client: FactoryClient) -> EndpointOut:
        found = await _resolve(client, endpoint)
        await client.remove_webhook(found.id)
        return found

    gone = _call(work)
    ok(f"endpoint {str(gone.id)[:8]} ({escape(gone.url)}) removed")


@app.command("rotate-secret")
def rotate_secret(
    endpoint: EndpointArg,
    overlap_hours: Annotated[float, typer.Option(
        "--overlap-hours", min=0, max=168, help="How long the old secret keeps signing too.")] = 24,
) -> None:
    """A new signing secret, printed once; deliveries carry both signatures during the overlap."""
    async def work(client: FactoryClient) -> EndpointCreated:
        return await client.rotate_webhook_secret((await _resolve(client, endpoint)).id, overlap_hours)

    made = _call(work)
    ok(f"endpoint {str(made.id)[:8]}: new secret; the old one also signs until "
       f"{_when(made.previous_secret_until) or 'now (no overlap)'}")
    console.print(f"signing secret (shown only now): [bold]{made.secret}[/]", highlight=False, soft_wrap=True)


@app.command("test")
def test_webhook(endpoint: EndpointArg) -> None:
    """Send a signed `webhook.test` event; see its outcome with `deliveries`."""
    async def work(client: FactoryClient) -> DeliveryOut:
        return await client.test_webhook((await _resolve(client, endpoint)).id)

    sent = _call(work)
    ok(f"test event {sent.event_id} queued: `factoryos webhooks deliveries {str(sent.endpoint_id)[:8]}` shows "
       "how it went")


@app.command("deliveries")
def list_deliveries(
    endpoint: EndpointArg,
    status: Annotated[str | None, typer.Option("--status", help="Only " + ", ".join(STATUSES) + ".")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many, newest first.")] = 50,
    as_json: Json = False,
) -> None:
    """The endpoint's delivery log, newest first: status, attempts, last answer or error."""
    if status is not None and status not in STATUSES:
        fail(f"--status: {escape(repr(status))} is not one of {', '.join(STATUSES)}")

    async def work(client: FactoryClient) -> list[DeliveryOut]:
        found = await _resolve(client, endpoint)
        return (await client.webhook_deliveries(found.id, status=status, limit=limit)).items

    items = _call(work)
    if as_json:
        console.print_json(json.dumps([i.model_dump(mode="json") for i in items]))
        return
    if not items:
        console.print("No deliveries.")
        return
    table = Table(box=box.SIMPLE)
    for column in ("delivery", "event", "status", "attempts", "answer", "last try", "next try"):
        table.add_column(column, no_wrap=column != "answer")
    for d in items:
        answer = str(d.last_status_code or "") if d.status == "delivered" else (d.last_error or "")
        table.add_row(str(d.id)[:8], d.event_type, d.status, str(d.attempts), escape(answer), _when(d.last_attempt_at),
                      _when(d.next_attempt_at))
    console.print(table)


@app.command("retry")
def retry_delivery(
    endpoint: EndpointArg,
    delivery: Annotated[str, typer.Argument(help="The failed delivery's id (or its first characters).")],
) -> None:
    """Send a failed delivery again, with the same event id."""
    async def work(client: FactoryClient) -> DeliveryOut:
        found = await _resolve(client, endpoint)
        failed = (await client.webhook_deliveries(found.id, status="failed", limit=500)).items
        match = [d for d in failed if str(d.id).startswith(delivery.strip().lower())]
        if len(match) != 1:
            raise ClientError("webhook_delivery_not_found", f"no single failed delivery with an id starting "
                              f"{delivery.strip()!r}: see `factoryos webhooks deliveries {endpoint} --status failed`")
        return await client.retry_webhook_delivery(found.id, UUID(str(match[0].id)))

    again = _call(work)
    ok(f"delivery {str(again.id)[:8]} is pending again")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="webhooks")
