"""Running the `factoryos` Typer app in tests: its outcome, and the one-red-line rule for user errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from typer.testing import CliRunner

from tests.accounts import PASSWORD, Session


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def one_red_line(done: Outcome, *fragments: str) -> None:
    """A user error: exit 1 and exactly one line on stderr, starting with ✗, naming `fragments`."""
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("✗"), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


class InProcessCli:
    """The app run in this process with its own client profile (`home`), signed in like a user."""

    def __init__(self, app: typer.Typer, home: Path, cwd: Path, server: str) -> None:
        self.app, self.cwd, self.server = app, cwd, server
        self.env = {"FACTORYOS_CLIENT_CONFIG": str(home / "client.json"), "COLUMNS": "200"}

    def __call__(self, *args: str, stdin: str | None = None) -> Outcome:
        result = CliRunner().invoke(self.app, list(args), input=stdin, env=self.env)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def login(self, who: Session) -> None:
        done = self("login", "--server", self.server, "--email", who.email, "--password-stdin", stdin=PASSWORD + "\n")
        assert done.returncode == 0, done
