"""`factoryos jobs list|show|import|export` against the real server over HTTP (the Typer app in process,
after a real `factoryos login`): tables, JSON, files written, errors as one red line and exit 1."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer

from cli import jobs, login
from tests.cli_support import InProcessCli, one_red_line
from tests.onboarding.support import csv_bytes
from tests.orders import order_support as support
from tests.orders import runs_plant

app = typer.Typer(name="factoryos", no_args_is_help=True, pretty_exceptions_show_locals=False)
login.register(app)
jobs.register(app)


@pytest.fixture()
def cli(tmp_path: Path, live_server, monkeypatch: pytest.MonkeyPatch) -> InProcessCli:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return InProcessCli(app, tmp_path, work, live_server.url)


def test_list_and_show(cli: InProcessCli, api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    p = support.product(app_engine, owner.tenant_id, [(10, "Cut", [(m["id"], "12", 1)]),
                                                      (20, "Bend", [(m["id"], "6", 2)])], name="Hinge")
    support.create(api, owner, job_number="CLI-1", product=None, product_id=p["id"], quantity=1200,
                   customer="Acme", status="released")
    support.create(api, owner, job_number="CLI-2", product="Washer", due_date="2026-08-01")
    cli.login(owner)

    done = cli("jobs", "list")
    assert done.returncode == 0, done
    lines = [line.split() for line in done.stdout.splitlines() if line.strip().startswith("CLI-")]
    assert [line[0] for line in lines] == ["CLI-2", "CLI-1"]  # due first
    assert "planned" in lines[0] and {"released", "Acme", "1,200", "Hinge"} <= set(lines[1])
    assert "2 orders" in done.stdout
    listed = json.loads(cli("jobs", "list", "--status", "released", "--json").stdout)
    assert [o["job_number"] for o in listed] == ["CLI-1"]
    assert [o["job_number"] for o in json.loads(cli("jobs", "list", "--q", "wash", "--json").stdout)] == ["CLI-2"]
    one_red_line(cli("jobs", "list", "--status", "busy"), "--status", "planned")

    shown = cli("jobs", "show", "CLI-1")
    assert shown.returncode == 0, shown
    assert f"Order CLI-1  {p['number']} Hinge  [released]" in shown.stdout
    assert "quantity 1,200" in shown.stdout and "customer Acme" in shown.stdout
    assert f"{m['code']} 6s/2" in shown.stdout and "0/1,200" in shown.stdout
    detail = json.loads(cli("jobs", "show", "CLI-1", "--json").stdout)
    assert [(o["seq"], o["name"]) for o in detail["operations"]] == [(10, "Cut"), (20, "Bend")]
    one_red_line(cli("jobs", "show", "NOPE-9"), "there is no order NOPE-9")


def test_import_previews_then_imports(cli: InProcessCli, api, owner, app_engine) -> None:
    runs_plant.shop(api, owner)
    p = support.product(app_engine, owner.tenant_id, [], number="P-CLI")
    good = cli.cwd / "jobs.csv"
    good.write_bytes(csv_bytes([["Job", "Part", "Qty", "Due"], ["I-1", "P-CLI", "10", "2026-09-01"],
                                ["I-2", "Loose part", "5", "2026-09-02"]]))
    bad = cli.cwd / "bad.csv"
    bad.write_bytes(csv_bytes([["Job", "Part", "Qty", "Due"], ["I-3", "Gear", "ten", "2026-09-01"],
                               ["I-4", "Gear", "4", "2026-09-01"]]))
    cli.login(owner)

    refused = cli("jobs", "import", str(good), stdin="n\n")
    assert refused.returncode == 1 and "2 rows, 2 valid, 0 with errors; 1 linked" in refused.stdout
    assert "import cancelled" in refused.stderr
    assert json.loads(cli("jobs", "list", "--json").stdout) == []

    done = cli("jobs", "import", str(good), "--yes")
    assert done.returncode == 0, done
    assert "Imported 2 jobs" in done.stdout
    listed = {o["job_number"]: o for o in json.loads(cli("jobs", "list", "--json").stdout)}
    assert (listed["I-1"]["product_id"], listed["I-2"]["product_id"]) == (p["id"], None)

    errors = cli("jobs", "import", str(bad), "--yes")
    assert errors.returncode == 1 and "row 2, quantity (Qty)" in errors.stderr
    assert errors.stderr.strip().splitlines()[-1].startswith("✗ 1 of 2 rows have errors")
    partial = cli("jobs", "import", str(bad), "--yes", "--skip-invalid", "--json")
    assert partial.returncode == 0, partial
    assert (json.loads(partial.stdout)["imported"], json.loads(partial.stdout)["skipped"]) == (1, 1)
    one_red_line(cli("jobs", "import", str(cli.cwd / "missing.csv"), "--yes"), "there is no file")


def test_export_writes_confirmations_and_the_next_cursor(cli: InProcessCli, api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    order = support.create(api, owner, job_number="X-1", machine_id=m["id"], status="released")
    op = order["operations"][0]["id"]
    assert api.post(f"/api/v1/machines/{m['id']}/run", json={"operation_id": op}, headers=owner.headers).is_success
    assert api.post(f"/api/v1/machines/{m['id']}/run/complete", json={"final_good": 95, "final_scrap": 5},
                    headers=owner.headers).is_success
    cli.login(owner)

    done = cli("jobs", "export", "-o", "confirmations.csv")
    assert done.returncode == 0, done
    rows = list(csv.reader((cli.cwd / "confirmations.csv").open(encoding="utf-8", newline="")))
    assert rows[0] == list(jobs.EXPORT_COLUMNS)
    assert [(r[1], r[2], r[3], r[4], r[5], r[6], r[10], r[11]) for r in rows[1:]] == [
        ("X-1", "10", "Production", m["code"], "95", "5", owner.email, "yes")]
    cursor = rows[1][0]
    assert f"Next time: --since {cursor}" in done.stdout
    one_red_line(cli("jobs", "export", "-o", "confirmations.csv"), "already exists", "--overwrite")

    again = json.loads(cli("jobs", "export", "--since", cursor, "-o", "confirmations.csv", "--overwrite",
                           "--json").stdout)
    assert (again["rows"], again["next_cursor"]) == (0, cursor)
    assert (cli.cwd / "confirmations.csv").read_text(encoding="utf-8").splitlines() == [",".join(jobs.EXPORT_COLUMNS)]
    one_red_line(cli("jobs", "export", "--since", "x1", "-o", "other.csv"), "since")
    assert not (cli.cwd / "other.csv").exists()
