"""`factoryos report order NUMBER` against the real server over HTTP: the file written, errors as
one red line and exit 1 (the Typer app in process after a real `factoryos login`)."""

from __future__ import annotations

import json
from pathlib import Path

from pypdf import PdfReader

from tests.cli_support import one_red_line
from tests.reports.order_seed import OrderPlant
from tests.reports.test_cli_reports import Cli, cli  # noqa: F401 (the `cli` fixture)
from tests.reports.test_order_report import order  # noqa: F401 (the `order` fixture)


def test_order_report_is_saved_under_the_servers_name(cli: Cli, order: OrderPlant) -> None:  # noqa: F811
    assert cli.login(order.owner).returncode == 0
    done = cli.invoke("report", "order", order.number, "--format", "json", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    path = Path(result["path"])
    assert path == cli.cwd / f"order-{order.number}.json" and result["media_type"] == "application/json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["header"]["title"] == f"Order {order.number}: P-100 Bracket"
    assert [r["operation"] for r in doc["sections"][2]["rows"]] == ["10 Stamping", "20 Turning"]

    target = cli.cwd / "mo.pdf"
    done = cli.invoke("report", "order", order.number, "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert "Saved" in done.stdout and f"Order {order.number}" in PdfReader(target).pages[0].extract_text()
    one_red_line(cli.invoke("report", "order", order.number, "-o", str(target)), "already exists", "--overwrite")


def test_order_report_errors_are_one_red_line(cli: Cli, order: OrderPlant) -> None:  # noqa: F811
    assert cli.login(order.owner).returncode == 0
    one_red_line(cli.invoke("report", "order", "MO-does-not-exist"), "no order 'MO-does-not-exist'")
    one_red_line(cli.invoke("report", "order", order.number, "--format", "xlsx", "--print"), "--print needs --format pdf")
    assert not list(cli.cwd.iterdir())  # nothing written
