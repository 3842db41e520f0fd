"""`factoryos webhooks list|add|test|deliveries|remove` against the real server over HTTP (the Typer
app in process, after a real `factoryos login`), delivering to a real receiver on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import typer

from cli import login, webhooks
from tests.accounts import join, new_company
from tests.cli_support import InProcessCli, one_red_line
from tests.integrations.receiver import receiver

app = typer.Typer(name="factoryos", no_args_is_help=True, pretty_exceptions_show_locals=False)
login.register(app)
webhooks.register(app)


@pytest.fixture()
def cli(tmp_path: Path, live_server, monkeypatch: pytest.MonkeyPatch) -> InProcessCli:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return InProcessCli(app, tmp_path, work, live_server.url)


def test_add_test_deliveries_remove(cli: InProcessCli, http: httpx.Client) -> None:
    owner = new_company(http)
    cli.login(owner)
    assert "No webhook endpoints" in cli("webhooks", "list").stdout
    with receiver() as rec:
        done = cli("webhooks", "add", "--url", rec.url, "--event", "order.status_changed", "-e", "anomaly.recorded",
                   "--description", "MES", "--json")
        assert done.returncode == 0, done
        made = json.loads(done.stdout)
        rec.secret = made["secret"]
        short = made["id"][:8]
        listed = cli("webhooks", "list")
        assert short in listed.stdout and "MES" in listed.stdout and made["secret"] not in listed.stdout
        tested = cli("webhooks", "test", short)
        assert tested.returncode == 0 and "queued" in tested.stdout, tested
        assert rec.wait_for(1)[0].signature_ok is True
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = json.loads(cli("webhooks", "deliveries", short, "--json").stdout)
        if log and log[0]["status"] == "delivered":
            break
        time.sleep(0.1)
    assert log[0]["status"] == "delivered" and log[0]["event_type"] == "webhook.test"
    # The table (its width follows the terminal): the delivered one is listed under its status filter.
    shown = cli("webhooks", "deliveries", short, "--status", "delivered")
    assert shown.returncode == 0 and "No deliveries." not in shown.stdout
    rotated = cli("webhooks", "rotate-secret", short, "--overlap-hours", "2")
    assert rotated.returncode == 0 and "new secret" in rotated.stdout and "whsec_" in rotated.stdout, rotated
    assert made["secret"] not in rotated.stdout
    removed = cli("webhooks", "remove", short)
    assert removed.returncode == 0 and "removed" in removed.stdout, removed
    assert json.loads(cli("webhooks", "list", "--json").stdout) == []


def test_user_errors_are_one_red_line(cli: InProcessCli, http: httpx.Client) -> None:
    owner = new_company(http)
    cli.login(owner)
    one_red_line(cli("webhooks", "add", "--url", "ftp://mes.lan/x", "--event", "anomaly.recorded"), "http")
    one_red_line(cli("webhooks", "add", "--url", "https://mes.lan/x", "--event", "machine.exploded"),
                 "machine.exploded")
    one_red_line(cli("webhooks", "test", "ffffffff"), "ffffffff")
    one_red_line(cli("webhooks", "deliveries", "ffffffff", "--status", "lost"), "--status")
    operator = join(http, owner, "operator")
    cli.login(operator)
    one_red_line(cli("webhooks", "list"))
