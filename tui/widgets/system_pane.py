"""Server health and configuration: version, database, migrations, poller, disk, last
backup, license, and the settings in force (the server sends no secrets)."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from factoryos.client import FactoryClient
from factoryos.client.ops_models import SystemConfig
from tui.worker_errors import ShowsWorkerErrors


def state(ok: bool | None) -> str:
    return "—" if ok is None else ("OK" if ok else "PROBLEM")


def age(seconds: int | None) -> str:
    if seconds is None:
        return "none yet"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds // 86400} days ago"


def gib(size: int | None) -> str:
    return "?" if size is None else f"{size / 1024**3:.1f} GiB"


def health_rows(h: dict[str, Any], config: SystemConfig) -> list[tuple[str, str, str, str]]:
    """(key, part, state, detail) rows from GET /system/health and /system/config."""
    db, mig = h.get("database") or {}, h.get("migrations") or {}
    poller, disk = h.get("poller") or {}, h.get("disk") or {}
    backup, lic = h.get("backup") or {}, h.get("license") or {}
    d = config.database
    where = f"{d.mode}, database {d.name}" + (f" on {d.host}:{d.port or 5432}" if d.host else "")
    rows = [
        ("server", "Server", state(h.get("status") == "ok"), f"FactoryOS {h.get('version', '?')}"),
        ("database", "Database", state(db.get("ok")), f"{where}, pool {d.pool_size}" + _extra(db)),
        ("migrations", "Migrations", state(mig.get("ok")),
         f"at {mig.get('current') or 'none'} (head {mig.get('head')})" + _extra(mig)),
    ]
    if poller.get("state") == "running":
        rows.append(("poller", "Poller", state(poller.get("ok")),
                     f"{poller.get('machines', 0)} machines, {poller.get('connected', 0)} connected, "
                     f"{poller.get('failing', 0)} failing" + _extra(poller)))
    else:
        rows.append(("poller", "Poller", state(None), "off in this server" + _extra(poller)))
    rows.append(("disk", "Disk", state(disk.get("ok")),
                 f"{gib(disk.get('free_bytes'))} free of {gib(disk.get('total_bytes'))}" + _extra(disk)))
    every = f"every {backup['interval_hours']:g} h" if backup.get("interval_hours") else "not scheduled"
    rows.append(("backup", "Last backup", state(backup.get("ok")),
                 f"{age(backup.get('age_seconds'))}, {every}" + _extra(backup)))
    licensed = None if lic.get("status") == "evaluation" else lic.get("valid")  # evaluating is no fault
    rows.append(("license", "License", state(licensed),
                 f"{lic.get('status', '?')}, {str(lic.get('edition', '?')).title()}" + _extra(lic)))
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


def _extra(part: dict[str, Any]) -> str:
    return f"; {part['detail']}" if part.get("detail") else ""


class SystemPane(ShowsWorkerErrors, Vertical):
    BINDINGS = [Binding("ctrl+r", "reload", "Reload", tooltip="Ask the server again.", id="reload")]
    HELP = "**System**: the server's health and its settings. **Ctrl+R** asks again. PROBLEM rows say what to fix."

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self._loaded = False

    def compose(self) -> ComposeResult:
        yield Static("", id="system-summary")
        table = DataTable(id="system-table", cursor_type="row", zebra_stripes=True)
        table.add_column("Part", key="part")
        table.add_column("State", key="state")
        table.add_column("Details", key="detail")
        yield table
        yield Static("", id="system-detail")

    def activate(self) -> None:
        if not self._loaded:
            self._loaded = True
            self.load()

    def action_reload(self) -> None:
        self.load()

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
