"""`factoryos report maintenance`: the download itself (the command is declared in cli/report.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from rich.progress import Progress

from cli.session import signed_in_client
from factoryos.client.api_maintenance import download_maintenance_report
from factoryos.client.api_reports import Download


async def fetch_maintenance(start: date, end: date, fmt: str, dest: Callable[[str | None], Path],
                            bar: Callable[[], Progress]) -> Download:
    async with signed_in_client() as (client, _):
        with bar() as progress:
            task = progress.add_task("Generating the maintenance report…", total=None)

            def started(total: int | None) -> None:
                progress.update(task, description="Downloading", total=total)

            def received(done: int, total: int | None) -> None:
                progress.update(task, completed=done)

            return await download_maintenance_report(client, start.isoformat(), end.isoformat(), fmt, dest,
                                                     on_start=started, progress=received)
