"""The audit log, newest first, with filters; Enter shows one entry's before and after."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input

from factoryos.client import ClientError, FactoryClient
from factoryos.client.models import AuditEntry
from tui.screens.text_view import TextView
from tui.widgets.admin_tab import AdminTab


def parse_day(text: str, field: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ClientError("invalid_date", f"{field}: use YYYY-MM-DD, e.g. 2026-03-29", field=field) from None


class AuditPane(AdminTab):
    BINDINGS = [Binding("ctrl+n", "more", "More", tooltip="Load older entries.", id="more")]
    HELP = """\
Filter by action (e.g. `login_failed`), entity (e.g. `machine`) and dates (`YYYY-MM-DD`),
then press **Enter**. **Ctrl+N** loads older entries; **Enter** on a row shows it in full.
"""

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.entries: dict[str, AuditEntry] = {}
        self.cursor: str | None = None
        self.names: dict[UUID, str] | None = None  # actor ids → names, when members may be listed

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row", id="audit-filters"):
            yield Input(placeholder="action", id="audit-action")
            yield Input(placeholder="entity", id="audit-entity")
            yield Input(placeholder="from Y-M-D", id="audit-from")
            yield Input(placeholder="to Y-M-D", id="audit-to")
        table = DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("When", "Action", "Entity", "Id", "Actor")
        yield table

    @on(Input.Submitted)
    def _apply(self) -> None:
        self.load()

    @work(exclusive=True, group="audit", exit_on_error=False)
    async def load(self, more: bool = False) -> None:
        value = {name: self.query_one(f"#audit-{name}", Input).value.strip() for name in ("action", "entity")}
        first = parse_day(self.query_one("#audit-from", Input).value, "from")
        last = parse_day(self.query_one("#audit-to", Input).value, "to")
        page = await self.api.audit(
            action=value["action"] or None, entity=value["entity"] or None,
            since=datetime.combine(first, time(), UTC) if first else None,
            until=datetime.combine(last + timedelta(days=1), time(), UTC) if last else None,
            cursor=self.cursor if more else None,
        )
        if self.names is None:
            try:
                self.names = {m.id: m.display_name or m.email for m in (await self.api.users(limit=500)).items}
            except ClientError:
                self.names = {}  # without permissions.manage: show ids
        table = self.query_one("#audit-table", DataTable)
        if not more:
            table.clear()
            self.entries = {}
        for e in page.items:
            key = str(e.seq)
            if key in self.entries:
                continue
            self.entries[key] = e
            table.add_row(f"{e.ts.astimezone():%Y-%m-%d %H:%M:%S}", e.action, e.entity_type, (e.entity_id or "")[:8],
                          self._actor(e.actor_id), key=key)
        self.cursor = page.next_cursor

    def _actor(self, actor_id: UUID | None) -> str:
        if actor_id is None:
            return ""
        return (self.names or {}).get(actor_id) or str(actor_id)[:8]

    def action_more(self) -> None:
        if self.cursor:
            self.load(more=True)
        else:
            self.app.notify("No older entries.", title="Audit log")

    @on(DataTable.RowSelected, "#audit-table")
    def _show(self, event: DataTable.RowSelected) -> None:
        entry = self.entries.get(str(event.row_key.value))
        if entry is not None:
            self.app.push_screen(TextView(f"{entry.action} {entry.entity_type}",
                                          json.dumps(entry.model_dump(mode="json"), indent=2)))
