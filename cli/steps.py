"""Step lines for long operations: a transient spinner/bar while a step runs, then ✓ or ✗."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import TypeVar

from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli.output import console
from factoryos.errors import FactoryOSError

T = TypeVar("T")


def run_step(title: str, action: Callable[[Callable[..., None]], T]) -> T:
    """Run `action(progress)`; progress(message, fraction=None) updates the live line.

    Exceptions propagate after the ✗ line is printed, so callers decide what to undo.
    """
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[title]}[/] {task.description}"),
        BarColumn(bar_width=24),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("", total=None, title=escape(title))

        def progress(message: str, fraction: float | None = None) -> None:
            bar.update(
                task,
                description=escape(message),
                total=1.0 if fraction is not None else None,
                completed=fraction or 0.0,
            )

        try:
            result = action(progress)
        except BaseException as exc:
            bar.stop()
            reason = step_error(exc)
            console.print(f"[bold red]✗[/] [bold]{escape(title)}[/] [red]{escape(reason)}[/]", soft_wrap=True)
            raise
    return result


def step_error(exc: BaseException) -> str:
    """One line for the admin: our errors as they are, file system refusals with what to do."""
    if isinstance(exc, FactoryOSError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: {exc.filename or exc}; run as root (sudo factoryos …)"
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return f"read-only file system: {exc.filename or exc}; choose a --dir on a writable disk"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"


def done(title: str, detail: str) -> None:
    console.print(f"[bold green]✓[/] [bold]{escape(title)}[/] {escape(detail)}", highlight=False, soft_wrap=True)
