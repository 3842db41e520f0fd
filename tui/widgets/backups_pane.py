"""The server's backups: list, take one now, and restore one (after typing its name).

A restore runs on the server as a job; this pane polls it. While the database is swapped
the server answers 503 for a few seconds: polling simply goes on. A restore to a point
before this session began ends the session (the server no longer knows it).
"""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, ProgressBar, Static

from factoryos.client import ClientError, FactoryClient, SessionEnded
from factoryos.client.ops_models import BackupItem, BackupList, RestoreJob
from tui.screens.restore_confirm import RestoreConfirm
from tui.widgets.admin_tab import AdminTab

POLL_SECONDS = 1.0
GIVE_UP_SECONDS = 180.0  # of answers in a row that were 503 or no answer (the swap takes seconds)
PHASES = {
    "queued": "starting", "verifying": "checking the backup file", "restoring": "restoring into a scratch database",
    "checking": "verifying rows and audit chains", "replacing": "swapping the database in",
    "recording": "recording the restore in the audit log", "done": "done",
}


def mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


def schedule_text(listing: BackupList) -> str:
    if not listing.available:
        return "This server cannot take backups (it has no superuser database URL)."
    every = f"every {listing.interval_hours:g} h" if listing.interval_hours else "not scheduled"
    text = f"Backups {every}, kept {listing.keep_days} days; {len(listing.items)} on the server."
    if listing.last_error:
        text += f" Last scheduled backup failed: {listing.last_error}"
    return text


class BackupsPane(AdminTab):
    BINDINGS = [
        Binding("n", "create", "Back up now", tooltip="Take a backup now.", id="backup-now"),
        Binding("r", "restore", "Restore", tooltip="Restore the selected backup (Enter works too).", id="restore"),
        Binding("ctrl+r", "reload", "Reload", tooltip="List the backups again.", id="reload"),
    ]
    HELP = """\
**Backups**: **n** takes a backup now; **r** (or **Enter**) on a backup restores it after you
type its name. A restore replaces every company's data with the backup's, after checking it in a
scratch database; a restore that fails changes nothing.
"""

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.listing: BackupList | None = None
        self.items: dict[str, BackupItem] = {}
        self.job: RestoreJob | None = None

    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="backup-schedule")
        table = DataTable(id="backups-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Name", "Created", "Size", "Version")
        yield table
        with Horizontal(id="backup-progress-row"):
            yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="backup-progress")
            yield Static("", id="backup-status")

    def on_mount(self) -> None:
        self.query_one("#backup-progress").display = False

    @work(exclusive=True, group="backups", exit_on_error=False)
    async def load(self) -> None:
        self.listing = await self.api.backups()
        self.query_one("#backup-schedule", Static).update(schedule_text(self.listing))
        self.refresh_bindings()
        table = self.query_one("#backups-table", DataTable)
        table.clear()
        self.items = {b.name: b for b in self.listing.items}
        for b in self.listing.items:
            table.add_row(b.name, f"{b.created_at.astimezone():%Y-%m-%d %H:%M}", mib(b.size), b.factoryos_version,
                          key=b.name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # n and r only where this server can take backups (it needs a superuser database URL).
        return action not in ("create", "restore") or (self.listing is not None and self.listing.available)

    def _busy(self, text: str | None) -> None:
        self.query_one("#backup-progress").display = text is not None
        self.query_one("#backup-status", Static).update(text or "")

    @property
    def busy(self) -> bool:
        return bool(self.query_one("#backup-progress").display)

    def action_create(self) -> None:
        if self.busy:
            self.app.notify("Wait until the running backup or restore has finished.", title="Busy", severity="warning")
            return
        self.create()

    @work(exclusive=True, group="backup-run", exit_on_error=False)
    async def create(self) -> None:
        self._busy("Taking a backup (pg_dump)…")
        try:
            made = await self.api.create_backup()
        finally:
            self._busy(None)
        self.app.notify(f"Backup {made.name} taken ({mib(made.size)}).", title="Backed up")
        self.load()

    @on(DataTable.RowSelected, "#backups-table")
    def _selected(self) -> None:
        self.action_restore()

    def action_restore(self) -> None:
        table = self.query_one("#backups-table", DataTable)
        if table.row_count == 0:
            self.app.notify("No backup to restore yet: press n to take one.", title="Backups", severity="warning")
            return
        if self.busy:
            self.app.notify("Wait until the running backup or restore has finished.", title="Busy", severity="warning")
            return
        name = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        backup = self.items[name]

        def answer(yes: bool | None) -> None:
            if yes:
                self.restore(backup)

        self.app.push_screen(RestoreConfirm(backup), answer)

    @work(exclusive=True, group="backup-run", exit_on_error=False)
    async def restore(self, backup: BackupItem) -> None:
        self._busy(f"Restoring {backup.name}: starting…")
        self.job = None
        try:
            job = await self.api.start_restore(backup.name, confirm=backup.name)
            self.job = job
            unanswered = 0
            while job.running:
                await asyncio.sleep(POLL_SECONDS)
                try:
                    job = await self.api.restore_job(job.id)
                except ClientError as exc:
                    unanswered += 1
                    given_up = unanswered * POLL_SECONDS > GIVE_UP_SECONDS
                    if isinstance(exc, SessionEnded) or not exc.transient or given_up:
                        raise
                    continue  # 503 while the database is swapped: it comes back in a moment
                unanswered = 0
                self.job = job
                self._busy(f"Restoring {backup.name}: {PHASES.get(job.phase, job.phase)}…")
        except SessionEnded as exc:
            if self.job is None:
                raise
            raise SessionEnded(exc.code, "the database was restored to a point before this session began: "
                               "sign in again", status=401) from None  # fmt: skip
        finally:
            self._busy(None)
        if job.state == "succeeded":
            self.app.notify(f"Restored {backup.name}." + (f" {job.warning}" if job.warning else ""),
                            title="Restored", severity="warning" if job.warning else "information")
            session = getattr(self.app, "session", None)
            if session is not None:
                session.reference = None  # plant data may differ: operator screens load it again
        else:
            self.app.notify(f"{job.error or 'The restore failed.'}", title="Restore failed", severity="error",
                            timeout=20)
        self.load()
