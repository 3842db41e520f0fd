"""Pick an OPC-UA node by browsing the server's address space, instead of typing its id.

Folders and objects open with Enter; a variable is chosen with Enter and its node id goes into
the signal field the form had in focus. Backspace goes up one level. Each variable shows its
current value and type, so the counter that is counting is easy to tell from the one that is
not. Dismisses with the chosen node id, or None."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from factoryos.client import FactoryClient
from factoryos.connectivity.connection_models import BrowsedNode
from tui.markup import escape
from tui.widgets.field_error import FieldError
from tui.worker_errors import ShowsWorkerErrors


class BrowseNodes(ShowsWorkerErrors, ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel"),
                Binding("backspace", "up", "Up", tooltip="Back to the parent node.", id="up")]
    HELP = ("**↑/↓** move, **Enter** opens a folder or object, or chooses a variable for the signal; "
            "**Backspace** goes up; **Esc** closes without choosing.")
    DEFAULT_CSS = "BrowseNodes #b-nodes { height: auto; max-height: 16; }"

    def __init__(self, api: FactoryClient, machine_id: UUID, endpoint: dict[str, Any], signal: str) -> None:
        super().__init__()
        self.api, self.machine_id, self.endpoint, self.signal = api, machine_id, endpoint, signal
        self.path: list[tuple[str | None, str]] = [(None, "Objects")]  # (node id, name) from the root down
        self.nodes: list[BrowsedNode] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("", id="b-title", classes="dialog-title", markup=False)
            yield OptionList(id="b-nodes")
            yield FieldError(id="b-error")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="browse", exit_on_error=False)
    async def load(self) -> None:
        node_id, _ = self.path[-1]
        where = " / ".join(name for _, name in self.path)
        self.query_one("#b-title", Static).update(f"Node for {self.signal}: {where}")
        error = self.query_one("#b-error", FieldError)
        error.clear()
        listing = self.query_one("#b-nodes", OptionList)
        listing.clear_options()
        answer = await self.api.browse_connection(self.machine_id, self.endpoint, node_id)
        if not answer.ok:
            error.show(f"Cannot browse: {answer.error}")
            return
        self.nodes = answer.nodes
        for index, node in enumerate(answer.nodes):
            listing.add_option(Option(Content.from_markup(_label(node)), id=str(index)))
        if not answer.nodes:
            error.show("Nothing below this node: Backspace goes up.")
        elif answer.truncated:
            error.show(f"Only the first {len(answer.nodes)} are listed.")
        listing.focus()

    @on(OptionList.OptionSelected, "#b-nodes")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        node = self.nodes[int(event.option.id or 0)]
        if node.node_class == "variable":
            self.dismiss(node.node_id)
        elif node.node_class == "object":
            self.path.append((node.node_id, node.name))
            self.load()

    def action_up(self) -> None:
        if len(self.path) > 1:
            self.path.pop()
            self.load()

    def action_cancel(self) -> None:
        self.dismiss(None)


def _label(node: BrowsedNode) -> str:
    name = escape(node.name)
    if node.node_class == "object":
        return f"▸ {name}"
    if node.node_class == "variable":
        kind = f" ({node.value_type})" if node.value_type else ""
        return f"  {name} = {escape(node.value or '–')}{kind}"
    return f"  [dim]{name} ({node.node_class})[/dim]"
