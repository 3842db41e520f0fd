"""A `factoryos` root with the report commands registered as `cli/main.py` registers them:

    login.register(app)
    app.add_typer(report.app, name="report")

Only these groups, so each subprocess in the tests starts in seconds rather than loading
every command group. Run as ``python -m tests.reports.cli_entry …``.
"""

from __future__ import annotations

import typer

from cli import login, report

app = typer.Typer(name="factoryos", no_args_is_help=True, pretty_exceptions_show_locals=False)
login.register(app)
app.add_typer(report.app, name="report")

if __name__ == "__main__":
    app()
