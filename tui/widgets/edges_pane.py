"""Site edges of the company: listed by site; register one (its broker password and API token are
shown once), rotate its credentials, revoke it for good."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from factoryos.client import FactoryClient
from factoryos.client.models import SiteOut
from factoryos.edge.edge_models import EdgeCreated, EdgeIn, EdgeOut
from tui.screens.confirm import Confirm
from tui.screens.plan_forms import SavingForm
from tui.widgets.admin_tab import AdminTab
from tui.widgets.field_error import FieldError


def _when(at: Any) -> str:
    return f"{at.astimezone():%d %b %Y %H:%M}" if at is not None else ""


def edge_state(edge: EdgeOut) -> str:
    if edge.revoked_at is not None:
        return f"revoked {_when(edge.revoked_at)}"
    if edge.rotated_at is not None:
        return f"in force, new key {_when(edge.rotated_at)}"
    return f"in force since {_when(edge.created_at)}"


class EdgeForm(SavingForm):
    """Register an edge for a site: closes once the server took it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel"), Binding("ctrl+s", "save", "Save", id="save")]
    HELP = "Pick the site whose machines the edge polls and give it a name (unique at that site)."
    FIELDS = {"site_id": "e-site", "name": "e-name"}

    def __init__(self, sites: list[SiteOut], save: Any) -> None:
        super().__init__(save)
        self.sites = sites

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Register a site edge", classes="dialog-title")
            yield Horizontal(Label("Site", classes="form-label"),
                             Select([(s.name, str(s.id)) for s in self.sites], prompt="Choose the site", id="e-site",
                                    value=str(self.sites[0].id) if len(self.sites) == 1 else Select.NULL),
                             classes="form-row")
            yield FieldError(id="e-site-error")
            yield Horizontal(Label("Name", classes="form-label"),
                             Input(placeholder="e.g. Hall 2 edge", max_length=100, id="e-name"), classes="form-row")
            yield FieldError(id="e-name-error")
            yield FieldError(id="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (Ctrl+S)", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#e-site", Select).focus()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        site = self.query_one("#e-site", Select).value
        name = self.query_one("#e-name", Input).value.strip()
        self._clear_errors()
        if site is Select.NULL:
            self.say_at("e-site", "Choose the site whose machines this edge polls.")
            return
        if not name:
            self.say_at("e-name", "Give the edge a name, e.g. the hall it stands in.")
            return
        self.submit({"site_id": str(site), "name": name})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class EdgeSecretDialog(ModalScreen[None]):
    """The edge's broker password and API token, shown this once, with keys to copy each."""

    BINDINGS = [
        Binding("escape,enter", "close", "Close", id="close"),
        Binding("p", "copy('secret')", "Copy password", tooltip="Copy the broker password to the clipboard.",
                id="copy-secret"),
        Binding("t", "copy('token')", "Copy token", tooltip="Copy the API token to the clipboard.", id="copy-token"),
    ]

    def __init__(self, edge: EdgeCreated, site: str, *, rotated: bool = False) -> None:
        super().__init__()
        self.edge = edge
        self.site = site
        self.rotated = rotated

    def compose(self) -> ComposeResult:
        e = self.edge
        title = "New credentials for" if self.rotated else "Edge registered:"
        with Vertical(classes="dialog"):
            yield Static(f"{title} {e.name} ({self.site})", classes="dialog-title")
            yield Static("Put these into the edge's edge.toml. They are not shown again.")
            yield Static(f"Broker user  {e.mqtt_username}", id="edge-user")
            yield Static(f"Password     {e.secret}", id="edge-secret")
            yield Static(f"API token    {e.token}", id="edge-token")
            yield Static("P copies the password, T the token (terminals that allow it); or select with the "
                         "mouse.", classes="hint")
            if self.rotated:
                yield Static("The old credentials stopped working.", classes="hint")
            yield Button("Close", variant="primary", id="close")
        yield Footer()

    def action_copy(self, what: str) -> None:
        value = self.edge.secret if what == "secret" else self.edge.token
        self.app.copy_to_clipboard(value)
        self.notify("Password copied." if what == "secret" else "Token copied.", title="Copied")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)


class EdgesPane(AdminTab):
    BINDINGS = [
        Binding("n", "register", "Register", tooltip="Register a new edge for a site.", id="edge-register"),
        Binding("r", "rotate", "Rotate", tooltip="New credentials for the selected edge.", id="edge-rotate"),
        Binding("delete", "revoke", "Revoke", tooltip="Revoke the selected edge for good.", id="edge-revoke"),
        Binding("ctrl+r", "reload", "Reload", tooltip="Ask the server again.", id="reload"),
    ]
    HELP = ("**Edges**: the processes at each site that poll its machines and publish to the broker. **N** "
            "registers one (its password and token are shown once), **R** gives the selected edge new "
            "credentials, **Delete** revokes it for good, **Ctrl+R** asks again.")

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.sites: dict[str, SiteOut] = {}
        self.edges: dict[str, EdgeOut] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="edges-summary")
        table: DataTable[str] = DataTable(id="edges-table", cursor_type="row", zebra_stripes=True)
        table.add_column("Site", key="site")
        table.add_column("Edge", key="name")
        table.add_column("State", key="state")
        yield table
        yield Static("", id="edges-detail")

    @work(exclusive=True, group="edges", exit_on_error=False)
    async def load(self) -> None:
        sites = await self.api.sites()
        page = await self.api.edges()
        self.sites = {str(s.id): s for s in sites}
        self.edges = {str(e.id): e for e in page.items}
        table = self.query_one("#edges-table", DataTable)
        table.clear()

        def order(e: EdgeOut) -> tuple[str, bool, str]:
            return (self._site(e), e.revoked_at is not None, e.name.lower())

        for e in sorted(page.items, key=order):
            table.add_row(self._site(e), e.name, edge_state(e), key=str(e.id))
        live = [e for e in page.items if e.revoked_at is None]
        sites = len({e.site_id for e in live})
        self.query_one("#edges-summary", Static).update(
            f"[b]{len(live)} edge{'s' if len(live) != 1 else ''} in force[/b] at {sites} site{'s' if sites != 1 else ''}"
            " · N registers one" if page.items else "No edges yet. N registers one for a site.")
        self._show_detail()

    def _site(self, e: EdgeOut) -> str:
        site = self.sites.get(str(e.site_id))
        return site.name if site is not None else "(a site you cannot see)"

    def _selected(self) -> EdgeOut | None:
        table = self.query_one("#edges-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.edges.get(str(key))

    @on(DataTable.RowHighlighted, "#edges-table")
    def _show_detail(self) -> None:
        e = self._selected()
        self.query_one("#edges-detail", Static).update(
            "" if e is None else f"{e.name}: broker user {e.mqtt_username} · group {e.group_id}")

    def action_register(self) -> None:
        if not self.sites:
            self.notify("Add a site first: an edge polls one site's machines.", title="No site", severity="warning")
            return
        made: list[EdgeCreated] = []

        async def save(body: dict[str, Any]) -> None:
            made.append(await self.api.register_edge(EdgeIn.model_validate(body)))

        def closed(result: dict[str, Any] | None) -> None:
            if result is not None and made:
                self.app.push_screen(EdgeSecretDialog(made[-1], self._site(made[-1])))
                self.load()

        self.app.push_screen(EdgeForm(sorted(self.sites.values(), key=lambda s: s.name.lower()), save), closed)

    def action_rotate(self) -> None:
        e = self._selected()
        if e is None:
            return
        if e.revoked_at is not None:
            self.notify(f"{e.name} is revoked: register a new edge instead.", title="Revoked", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.rotate(e)

        self.app.push_screen(Confirm(f"New credentials for {e.name}? The edge stops working until its edge.toml "
                                     "has the new ones.", "Rotate"), answer)

    @work(group="edge-rotate", exit_on_error=False)
    async def rotate(self, e: EdgeOut) -> None:
        made = await self.api.rotate_edge(e.id)
        await self.app.push_screen(EdgeSecretDialog(made, self._site(e), rotated=True))
        self.load()

    def action_revoke(self) -> None:
        e = self._selected()
        if e is None or e.revoked_at is not None:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.revoke(e.id)

        self.app.push_screen(Confirm(f"Revoke {e.name} for good? It can no longer fetch its machines, and what it "
                                     "still publishes is dropped.", "Revoke"), answer)

    @work(group="edge-revoke", exit_on_error=False)
    async def revoke(self, edge_id: UUID) -> None:
        await self.api.revoke_edge(edge_id)
        self.app.notify("Edge revoked.", title="Revoked")
        self.load()
