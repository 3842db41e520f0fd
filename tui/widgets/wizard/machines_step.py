"""Step 3, Configure Machines: the company's machines, a quick add, or the full Machines screen."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Select, Static

from factoryos.client import ClientError
from factoryos.client.models import MachineOut, SiteOut
from tui.errors import describe
from tui.widgets.wizard.base import WizardPane


class MachinesPane(WizardPane):
    step = "configure_machines"
    BINDINGS = [Binding("f6", "open_machines", "Machines screen", tooltip="Edit machines in full.", id="wm-open")]
    HELP = """\
**Configure Machines**: every machine that reports production or downtime. Quick add takes
a code (e.g. `PRESS-01`), a name and the ideal cycle time in seconds per part; a company
without a site gets its first site with it. **F6** opens the Machines screen for status
mappings, lines and editing; **Escape** there comes back here.
"""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sites: list[SiteOut] = []
        self.machines: list[MachineOut] = []

    def compose(self) -> ComposeResult:
        yield Static("Machines report production and downtime. Add the ones you run (code, name, ideal seconds "
                     "per part); F6 opens the Machines screen for everything else.", classes="wizard-intro")
        table = DataTable(id="wm-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Code", "Name", "Site", "Cycle s")
        yield table
        yield Static("", id="wm-where", classes="wizard-note")
        with Horizontal(classes="form-row", id="wm-site-row"):
            yield Input(placeholder="site code, e.g. MAIN", id="wm-site-code")
            yield Input(placeholder="site name", id="wm-site-name")
            yield Input(placeholder="timezone", id="wm-site-tz")
        with Horizontal(classes="form-row", id="wm-add-row"):
            yield Select[str]([], prompt="site", id="wm-site")
            yield Input(placeholder="code, e.g. PRESS-01", id="wm-code")
            yield Input(placeholder="name", id="wm-name")
            yield Input(placeholder="cycle s", type="number", id="wm-cycle")
            yield Button("Add", variant="primary", id="wm-add")

    def on_mount(self) -> None:
        self.query_one("#wm-site-tz", Input).value = self.session.me.company.timezone or "UTC"

    def activate(self) -> None:
        self.load()

    def focus_first(self) -> None:
        """The first site's fields come first while the company has none."""
        first = "#wm-site-code" if self.query_one("#wm-site-row").display else "#wm-code"
        self.query_one(first, Input).focus()

    @work(exclusive=True, group="wizard-machines", exit_on_error=False)
    async def load(self) -> None:
        self.sites, self.machines = await asyncio.gather(self.api.sites(), self.api.machines(status=None))
        codes = {s.id: s.code for s in self.sites}
        table = self.query_one("#wm-table", DataTable)
        table.clear()
        for m in sorted(self.machines, key=lambda m: m.code):
            table.add_row(m.code, m.name, codes.get(m.site_id, ""), f"{m.ideal_cycle_seconds:g}", key=str(m.id))
        has_sites = bool(self.sites)
        self.query_one("#wm-site-row").display = not has_sites
        select = self.query_one("#wm-site", Select)
        select.set_options((s.code, str(s.id)) for s in self.sites)
        select.display = len(self.sites) > 1
        if self.sites:
            select.value = str(self.sites[0].id)
        where = (f"Quick add at site {self.sites[0].code}:" if len(self.sites) == 1 else
                 "Quick add (choose the site):" if self.sites else
                 "This company has no site yet: the first machine creates it (code, name, timezone).")
        count = f"{len(self.machines)} machine{'s' if len(self.machines) != 1 else ''}. " if self.machines else ""
        self.query_one("#wm-where", Static).update(count + where)
        if self.app.focused is not None and self.app.focused.id in ("wm-code", "wm-site-code"):
            self.focus_first()  # the site fields may have appeared or gone since the step took focus

    def _text(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    @on(Input.Submitted, "#wm-add-row Input")
    @on(Button.Pressed, "#wm-add")
    def _add(self) -> None:
        if not self.session.can("machines.manage"):
            self.app.notify("Your role does not include managing machines.", title="Not allowed", severity="warning")
            return
        missing = [label for label, sel in (("code", "#wm-code"), ("name", "#wm-name"), ("cycle s", "#wm-cycle"))
                   if not self._text(sel)]
        if not self.sites:
            missing += [label for label, sel in (("site code", "#wm-site-code"), ("site name", "#wm-site-name"))
                        if not self._text(sel)]
        if missing:
            self.app.notify(f"Fill in {', '.join(missing)}.", title="Machine not added", severity="warning")
            return
        self.add()

    @work(exclusive=True, group="wizard-machine-add", exit_on_error=False)
    async def add(self) -> None:
        try:
            if self.sites:
                site = self.query_one("#wm-site", Select).value
                site_id = str(site) if isinstance(site, str) else str(self.sites[0].id)
            else:
                made = await self.api.create_site({"code": self._text("#wm-site-code"),
                                                   "name": self._text("#wm-site-name"),
                                                   "timezone": self._text("#wm-site-tz") or "UTC"})
                site_id = str(made.id)
            machine = await self.api.create_machine({"site_id": site_id, "code": self._text("#wm-code"),
                                                     "name": self._text("#wm-name"),
                                                     "ideal_cycle_seconds": self._text("#wm-cycle")})
        except ClientError as exc:
            self.app.notify(describe(exc).message, title="Machine not added", severity="error")
            self.load()  # a site made before the machine failed shows up
            return
        self.session.reference = None  # operator screens load the registry again
        for selector in ("#wm-code", "#wm-name", "#wm-cycle"):
            self.query_one(selector, Input).value = ""
        self.app.notify(f"Added machine {machine.code}.", title="Saved")
        self.query_one("#wm-code", Input).focus()
        self.load()

    def action_open_machines(self) -> None:
        from tui.screens.machines import MachinesScreen

        self.app.push_screen(MachinesScreen())

    def blocker(self) -> str | None:
        if not self.machines:
            return "Add at least one machine, or skip this step with F3."
        return None

    def step_data(self) -> dict[str, Any]:
        return {"machines": len(self.machines)}
