"""`factoryos report quality --product … --from … --to …` against the real server: the PDF written,
errors as one red line and exit 1 (the Typer app in process after a real `factoryos login`)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from tests.cli_support import one_red_line
from tests.quality.test_quality_report import record_quality_history
from tests.reports.test_cli_reports import Cli, cli  # noqa: F401 (the `cli` fixture)


def test_quality_report_cli(cli: Cli, api, owner, app_engine) -> None:  # noqa: F811
    world = record_quality_history(api, owner, app_engine)
    number, day = world["product"]["number"], world["today"]
    assert cli.login(owner).returncode == 0
    done = cli.invoke("report", "quality", "--product", number, "--from", day, "--to", day)
    assert done.returncode == 0, done.stderr
    path = cli.cwd / f"quality-{number}-{day}-{day}.pdf"
    assert path.exists() and "Saved" in done.stdout
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert f"Quality: {number}" in text and "Characteristics and capability" in text and "Bore" in text

    one_red_line(cli.invoke("report", "quality", "--product", "NOPE", "--from", day, "--to", day), "no product")
    one_red_line(cli.invoke("report", "quality", "--product", number, "--from", "2026-13-01", "--to", day),
                 "--from")
    one_red_line(cli.invoke("report", "quality", "--product", number, "--from", day, "--to", "2020-01-01"),
                 "--to is before --from")
    assert [p.name for p in cli.cwd.iterdir()] == [path.name] and Path(path).stat().st_size > 0
