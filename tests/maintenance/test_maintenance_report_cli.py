"""`factoryos report maintenance --from … --to …` against the real server: the PDF written, errors
as one red line and exit 1 (the Typer app in process after a real `factoryos login`)."""

from __future__ import annotations

from pypdf import PdfReader

from tests.cli_support import one_red_line
from tests.maintenance import support as s
from tests.reports.test_cli_reports import Cli, cli  # noqa: F401 (the `cli` fixture)


def test_maintenance_report_cli(cli: Cli, api, owner) -> None:  # noqa: F811
    m = s.machine(api, owner)
    s.ok(api.post(f"{s.BASE}/work-orders", headers=owner.headers, json={"machine_id": m["id"], "title": "Belt noise"}),
         201)
    day = s.site_today().isoformat()
    assert cli.login(owner).returncode == 0
    done = cli.invoke("report", "maintenance", "--from", day, "--to", day)
    assert done.returncode == 0, done.stderr
    path = cli.cwd / f"maintenance-{day}-{day}.pdf"
    assert path.exists() and "Saved" in done.stdout
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "Maintenance report" in text and "WO-00001" in text and "Belt noise" in text
    one_red_line(cli.invoke("report", "maintenance", "--from", "2026-13-01", "--to", day), "--from")
    one_red_line(cli.invoke("report", "maintenance", "--from", day, "--to", "2020-01-01"), "--to is before --from")
    assert [p.name for p in cli.cwd.iterdir()] == [path.name]
