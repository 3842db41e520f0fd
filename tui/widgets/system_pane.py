"""Server health and configuration: version, database, migrations, poller, disk, last
backup, license, and the settings in force (the server sends no secrets)."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from factoryos.client import FactoryClient
from factoryos.client.health_rows import health_parts
from factoryos.client.ops_models import SystemConfig
from tui.widgets.admin_tab import AdminTab


def health_rows(h: dict[str, Any], config: SystemConfig) -> list[tuple[str, str, str, str]]:
    """(key, part, state, detail) rows from GET /system/health and /system/config."""
    rows = health_parts(h, config)
    rows += [
        ("listen", "Listens on", "", f"{config.listen}" + (" (TLS)" if config.tls else " (plain HTTP)")),
        ("data_dir", "Data dir", "", config.data_dir),
        ("backup_dir", "Backup dir", "", f"{config.backup_dir}, kept {config.backup_keep_days} days"
                                         + ("" if config.backups_available else ", backups unavailable")),
        ("license_file", "License file", "", config.license_file),
        ("logging", "Log level", "", config.log_level),
        ("proxies", "Trusted proxies", "", ", ".join(config.trusted_proxies) or "none"),
        ("body", "Max request", "", f"{config.max_body_bytes // 1024} KiB"),
    ]
    return rows


class SystemPane(AdminTab):
    BINDINGS = [Binding("ctrl+r", "reload", "Reload", tooltip="Ask the server again.", id="reload")]
    HELP = "**System**: the server's health and its settings. **Ctrl+R** asks again. PROBLEM rows say what to fix."

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api

    def compose(self) -> ComposeResult:
        yield Static("", id="system-summary")
        table = DataTable(id="system-table", cursor_type="row", zebra_stripes=True)
        table.add_column("Part", key="part")
        table.add_column("State", key="state")
        table.add_column("Details", key="detail")
        yield table
        yield Static("", id="system-detail")

    @work(exclusive=True, group="system", exit_on_error=False)
    async def load(self) -> None:
        health, config = await asyncio.gather(self.api.health(), self.api.system_config())
        rows = health_rows(health, config)
        problems = [part for _, part, st, _ in rows if st == "PROBLEM"]
        self.query_one("#system-summary", Static).update(
            f"[b]All parts OK[/b] · {self.api.server}" if not problems
            else f"[b]Needs attention:[/b] {', '.join(problems)} · {self.api.server}")
        table = self.query_one("#system-table", DataTable)
        table.clear()
        for key, part, st, detail in rows:
            table.add_row(part, st, detail, key=key)
        self._show_detail()

    @on(DataTable.RowHighlighted, "#system-table")
    def _show_detail(self) -> None:
        """The highlighted row in full: details are cut at 80 columns."""
        table = self.query_one("#system-table", DataTable)
        if table.row_count:
            part, _, detail = table.get_row_at(table.cursor_row)
            self.query_one("#system-detail", Static).update(f"{part}: {detail}")
