"""`factoryos integrations mqtt set|show|test|remove` against the real server over HTTP (the Typer app in
process, after a real `factoryos login`), publishing to a real Mosquitto on loopback."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer

from cli import login, mqtt_publish
from tests.accounts import join, new_company
from tests.cli_support import InProcessCli, one_red_line
from tests.connectivity.mqtt_broker import PASSWORD, USER, Broker, running_broker

app = typer.Typer(name="factoryos", no_args_is_help=True, pretty_exceptions_show_locals=False)
login.register(app)
mqtt_publish.register(app)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker(tmp_path_factory.mktemp("mosquitto-cli")) as running:
        yield running


@pytest.fixture()
def cli(tmp_path: Path, live_server, monkeypatch: pytest.MonkeyPatch) -> InProcessCli:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return InProcessCli(app, tmp_path, work, live_server.url)


def test_set_show_test_remove(cli: InProcessCli, http: httpx.Client, broker: Broker) -> None:
    owner = new_company(http)
    cli.login(owner)
    prefix = f"cli-{uuid.uuid4().hex[:6]}"
    done = cli("integrations", "mqtt", "set", "--url", broker.url, "--username", USER, "--password", PASSWORD,
               "--topic-prefix", prefix, "--mode", "tree", "--json")
    assert done.returncode == 0, done
    saved = json.loads(done.stdout)
    assert saved["topic_prefix"] == prefix and saved["password_set"] is True and PASSWORD not in done.stdout
    shown = cli("integrations", "mqtt", "show")
    assert shown.returncode == 0 and broker.url in shown.stdout and "password stored" in shown.stdout, shown
    tested = cli("integrations", "mqtt", "test")
    assert tested.returncode == 0 and f"{prefix}/_test" in tested.stdout, tested
    # Another password (kept out of the history with `-` in real use): the test says why it fails.
    assert cli("integrations", "mqtt", "set", "--url", broker.url, "--username", USER, "--password", "wrong",
               "--topic-prefix", prefix).returncode == 0
    one_red_line(cli("integrations", "mqtt", "test"), "user name or password")
    removed = cli("integrations", "mqtt", "remove")
    assert removed.returncode == 0 and "removed" in removed.stdout
    one_red_line(cli("integrations", "mqtt", "show"), "not set up")


def test_user_errors_are_one_red_line(cli: InProcessCli, http: httpx.Client) -> None:
    owner = new_company(http)
    cli.login(owner)
    one_red_line(cli("integrations", "mqtt", "set", "--url", "http://broker:1883"), "url")
    one_red_line(cli("integrations", "mqtt", "set", "--url", "mqtt://broker", "--mode", "everything"), "mode")
    operator = join(http, owner, "operator")
    cli.login(operator)
    one_red_line(cli("integrations", "mqtt", "show"))
