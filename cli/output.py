"""Console helpers shared by every command group."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """A user error: one red line on stderr and exit 1."""
    err_console.print(f"[bold red]✗[/] [red]{message}[/]", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def ok(message: str) -> None:
    console.print(f"[bold green]✓[/] {message}", highlight=False, soft_wrap=True)
