"""`factoryos integrations mqtt show|set|test|remove`: publishing to the company's MQTT broker, over the API.

The password is asked for (hidden) with `--password -`, so it stays out of the shell's history.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import SecretStr, ValidationError
from rich.markup import escape

from cli.output import console, fail, ok
from cli.session import NotSignedIn, signed_in_client
from factoryos.client import ClientError, FactoryClient
from factoryos.integrations.mqtt_publish_models import MqttPublishIn, MqttPublishOut

app = typer.Typer(help="Integrations of the company you signed in to.", no_args_is_help=True)
mqtt = typer.Typer(help="Publish machine state, counts, order and OEE to an MQTT broker: show, set, test, remove.",
                   no_args_is_help=True)
app.add_typer(mqtt, name="mqtt")

T = TypeVar("T")
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")]


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


def _print(out: MqttPublishOut, as_json: bool) -> None:
    if as_json:
        console.print_json(out.model_dump_json())
        return
    h = out.health
    state = {"connected": "[green]connected[/]", "error": "[red]error[/]"}.get(h.state, h.state)
    console.print(f"broker     {escape(out.url)}  user {escape(out.username or '-')}  "
                  f"password {'stored' if out.password_set else 'none'}")
    console.print(f"publishes  {out.mode}: tree {escape(out.topic_prefix)}/<site>/<line>/<machine>/…, "
                  f"Sparkplug spBv1.0/{escape(out.group_id)}/…/{escape(out.edge_node_id)}")
    console.print(f"every      {out.interval_seconds} s (changes), OEE every {out.oee_seconds} s"
                  + ("" if out.enabled else "  [red](switched off)[/]"))
    console.print(f"health     {state}" + (f": {escape(h.last_error)}" if h.last_error else ""))


@mqtt.command("show")
def show(as_json: Json = False) -> None:
    """The broker, what is published, and the publisher's health."""
    _print(_call(lambda client: client.mqtt_publish()), as_json)


@mqtt.command("set")
def set_(
    url: Annotated[str, typer.Option("--url", help="mqtt://host[:port] or mqtts://host[:port].")],
    username: Annotated[str | None, typer.Option("--username", help="User name at the broker.")] = None,
    password: Annotated[str | None, typer.Option(
        "--password", help="`-` asks for it (hidden); left out keeps the stored one.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="sparkplug, tree or both.")] = "both",
    topic_prefix: Annotated[str | None, typer.Option("--topic-prefix", help="First levels of the topic tree.")] = None,
    group_id: Annotated[str | None, typer.Option("--group-id", help="Sparkplug group id.")] = None,
    ca_certificate: Annotated[Path | None, typer.Option("--ca", help="CA certificate (PEM, on the server).")] = None,
    client_certificate: Annotated[Path | None, typer.Option("--cert", help="Client certificate (PEM).")] = None,
    client_private_key: Annotated[Path | None, typer.Option("--key", help="Client private key (PEM).")] = None,
    interval: Annotated[int, typer.Option("--interval", help="Seconds between checks for changes.")] = 2,
    oee_every: Annotated[int, typer.Option("--oee-every", help="Seconds between OEE messages.")] = 60,
    disabled: Annotated[bool, typer.Option("--disabled", help="Save it switched off.")] = False,
    as_json: Json = False,
) -> None:
    """Set up or change publishing; the server reconnects with it within seconds."""
    if password == "-":
        password = typer.prompt("broker password", hide_input=True)
    try:
        body = MqttPublishIn(url=url, username=username, password=SecretStr(password) if password else None,
                             mode=mode, topic_prefix=topic_prefix, group_id=group_id, ca_certificate=ca_certificate,
                             client_certificate=client_certificate, client_private_key=client_private_key,
                             interval_seconds=interval, oee_seconds=oee_every, enabled=not disabled)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        fail(escape(f"{where}: {first['msg']}"))
    out = _call(lambda client: client.set_mqtt_publish(body))
    _print(out, as_json)


@mqtt.command("test")
def test(as_json: Json = False) -> None:
    """Connect with the saved settings and publish one message to <prefix>/_test."""
    out = _call(lambda client: client.test_mqtt_publish())
    if as_json:
        console.print(json.dumps(out.model_dump(mode="json")))
        return
    if not out.ok:
        fail(escape(out.error or "the broker could not be reached"))
    ok(f"published a test message to {escape(out.topic or '')}")


@mqtt.command("remove")
def remove() -> None:
    """Stop publishing and forget the settings."""
    _call(lambda client: client.remove_mqtt_publish())
    ok("MQTT publishing removed")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="integrations")
