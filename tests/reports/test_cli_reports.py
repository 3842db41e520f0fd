"""`factoryos login`, `factoryos report …` and `factoryos logout` against the real server over
HTTP: files written, user errors as one red line and exit 1.

The main path runs as real subprocesses; the remaining cases run the same Typer app in
process (each subprocess pays seconds of imports on this shared machine).
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.accounts import PASSWORD, Session
from tests.cli_support import Outcome, one_red_line
from tests.reports.cli_entry import app
from tests.reports.seed import NIGHT_DATE, Plant


class Cli:
    def __init__(self, home: Path, cwd: Path, server: str) -> None:
        self.cwd = cwd
        self.server = server
        self.config = home / "client.json"
        self.env = {"FACTORYOS_CLIENT_CONFIG": str(self.config), "COLUMNS": "200"}

    def __call__(self, *args: str, stdin: str = "") -> Outcome:
        """A real `factoryos` process."""
        done = subprocess.run([sys.executable, "-m", "tests.reports.cli_entry", *args], input=stdin,
                              capture_output=True, text=True, cwd=self.cwd, env={**os.environ, **self.env},
                              timeout=120)
        return Outcome(done.returncode, done.stdout, done.stderr)

    def invoke(self, *args: str, env: dict[str, str] | None = None) -> Outcome:
        """The same app in this process (the working folder must be `cwd`)."""
        result = CliRunner().invoke(app, list(args), env={**self.env, **(env or {})})
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def login(self, who: Session) -> Outcome:
        return self("login", "--server", self.server, "--email", who.email, "--password-stdin",
                    stdin=PASSWORD + "\n")


@pytest.fixture()
def cli(tmp_path: Path, live_server, monkeypatch: pytest.MonkeyPatch) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return Cli(tmp_path, work, live_server.url)


def test_login_report_print_and_logout(cli: Cli, seeded: Plant, tmp_path: Path) -> None:
    site = seeded.site["code"]
    done = cli.login(seeded.supervisor)
    assert done.returncode == 0, done.stderr
    assert seeded.supervisor.email in done.stdout
    session = cli.config.with_name("cli-session.json")
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert PASSWORD not in session.read_text()

    done = cli("report", "shift", "--site", site, "--date", NIGHT_DATE, "--shift", "Night", "--format", "pdf",
               "-o", "night.pdf")
    assert done.returncode == 0, done.stderr
    written = cli.cwd / "night.pdf"
    assert f"Saved {written}" in done.stdout.replace("\n", "")
    text = "\n".join(p.extract_text() for p in PdfReader(written).pages)
    assert "Shift report: Night Mon 2026-11-16" in text and "Łukasz Żółć" in text and "2,350" in text
    assert not list(cli.cwd.glob(".*.part"))

    # The site by its name, a range, the server's file name in the working folder.
    done = cli.invoke("report", "machines", "--site", "Łódź Hala 2", "--from", "2026-11-16", "--to", "2026-11-17",
               "--format", "xlsx")
    assert done.returncode == 0, done.stderr
    (book,) = cli.cwd.glob("machines-*.xlsx")
    assert book.name == f"machines-{site}-2026-11-16-2026-11-17.xlsx"
    wb = load_workbook(io.BytesIO(book.read_bytes()))
    assert wb.sheetnames[:2] == ["Summary", "Production by machine"]

    one_red_line(cli("report", "shift", "--site", site, "--date", "2026-11-31", "--shift", "Night"),
                 "--date", "not a date")
    one_red_line(cli.invoke("report", "shift", "--site", site, "--date", NIGHT_DATE, "--shift", "Nite"),
                 "no shift 'Nite'", "Morning, Afternoon, Night")  # the server's problem, in one line
    one_red_line(cli.invoke("report", "downtime", "--site", "Nowhere", "--date", NIGHT_DATE), "no site 'Nowhere'")

    # --print: a clear line where CUPS is missing (the file is kept), `lp` where it is installed.
    print_args = ("report", "shift", "--site", site, "--date", NIGHT_DATE, "--shift", "Night", "--print")
    bare = tmp_path / "bin"
    bare.mkdir()
    one_red_line(cli.invoke(*print_args, "-o", "a.pdf", env={"PATH": str(bare)}), "no CUPS", "a.pdf")
    assert (cli.cwd / "a.pdf").stat().st_size > 0
    calls = tmp_path / "lp-calls.txt"
    lp = bare / "lp"  # a stand-in that records how it was called, as CUPS's lp would be
    lp.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{calls}"\necho "request id is Office-42 (1 file(s))"\n')
    lp.chmod(0o755)
    done = cli.invoke(*print_args, "-o", "b.pdf", env={"PATH": f"{bare}{os.pathsep}{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    assert "request id is Office-42" in done.stdout
    assert calls.read_text().splitlines() == ["-t", "b.pdf", str(cli.cwd / "b.pdf")]

    done = cli.invoke("logout")
    assert done.returncode == 0 and "Signed out" in done.stdout
    assert not session.exists()
    one_red_line(cli.invoke("report", "operators", "--site", site, "--date", NIGHT_DATE), "not signed in")


def test_existing_files_are_kept_and_a_failed_print_still_says_saved(cli: Cli, seeded: Plant, tmp_path: Path) -> None:
    assert cli.login(seeded.supervisor).returncode == 0
    site = seeded.site["code"]
    args = ("report", "shift", "--site", site, "--date", NIGHT_DATE, "--shift", "Night")
    done = cli.invoke(*args)
    assert done.returncode == 0, done.stderr
    (first,) = cli.cwd.glob("shifts-*.pdf")
    before = first.read_bytes()

    # The same name again: refused, the file untouched; --overwrite replaces it.
    one_red_line(cli.invoke(*args), first.name, "already exists", "--overwrite")
    assert first.read_bytes() == before
    assert cli.invoke(*args, "--overwrite").returncode == 0

    # A line report is its own file, beside the site's.
    done = cli.invoke(*args, "--line", seeded.line["code"])
    assert done.returncode == 0, done.stderr
    assert (cli.cwd / f"shifts-{site}-{seeded.line['code']}-{NIGHT_DATE}-Night.pdf").exists()

    # `lp` present but refusing: the report is saved and says so, then one red line.
    bare = tmp_path / "bin"
    bare.mkdir()
    lp = bare / "lp"
    lp.write_text('#!/bin/sh\necho "lp: The printer or class does not exist." >&2\nexit 1\n')
    lp.chmod(0o755)
    env = {"PATH": f"{bare}{os.pathsep}{os.environ['PATH']}"}
    done = cli.invoke(*args, "--print", "-o", "c.pdf", env=env)
    assert "Saved" in done.stdout and "c.pdf" in done.stdout.replace("\n", "")
    one_red_line(done, "not printed", "printer or class does not exist", "c.pdf")
    done = cli.invoke(*args, "--print", "--json", "-o", "d.pdf", env=env)
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["path"] == str(cli.cwd / "d.pdf") and result["printed"] is False
    assert "does not exist" in result["print_error"]
