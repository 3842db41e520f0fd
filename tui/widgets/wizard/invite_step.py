"""Step 5, Invite Team: an invite code per person and role, each shown large, once."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Select, Static

from factoryos.client.models import INVITABLE_ROLES, ROLE_TITLES, NewInvite
from tui.widgets.wizard.base import WizardPane


def spaced(code: str) -> str:
    """`K7MX-3QPD` → `K 7 M X - 3 Q P D`: easier to read out across a workshop."""
    return " ".join(code)


class InvitePane(WizardPane):
    step = "invite_team"
    FIRST_FOCUS = "#wi-role"
    HELP = """\
**Invite Team**: choose a role and press **Create invite**. Give the code to the person: they
join the company with it (`POST /api/v1/invites/accept`). Each code works once, for 48
hours, and is shown only here; open invites are listed (and revoked) in Admin › Invites.
"""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.created: list[NewInvite] = []

    def compose(self) -> ComposeResult:
        yield Static("Create one invite per person, with the role they will have. A code works once, for "
                     "48 hours, and is shown only now: write it down or read it out.", classes="wizard-intro")
        with Horizontal(classes="form-row"):
            yield Select([(ROLE_TITLES[r], r) for r in INVITABLE_ROLES], value="operator", allow_blank=False,
                         id="wi-role")
            yield Button("Create invite", variant="primary", id="wi-create")
        yield Static("", id="wi-code")
        yield Static("", id="wi-hint")
        yield Static("", id="wi-list", classes="wizard-note")

    def on_mount(self) -> None:
        self.query_one("#wi-code").display = False

    @on(Button.Pressed, "#wi-create")
    def _create(self) -> None:
        if not self.session.can("invites.send"):
            self.app.notify("Your role does not include inviting people.", title="Not allowed", severity="warning")
            return
        self.create(str(self.query_one("#wi-role", Select).value))

    @work(group="wizard-invite", exit_on_error=False)
    async def create(self, role: str) -> None:
        self.show_code(await self.api.create_invite(role))

    def show_code(self, invite: NewInvite) -> None:
        self.created.append(invite)
        code = self.query_one("#wi-code", Static)
        code.update(spaced(invite.code))
        code.display = True
        self.query_one("#wi-hint", Static).update(
            f"For a new [b]{ROLE_TITLES.get(invite.role, invite.role)}[/] · valid once, until "
            f"{invite.expires_at.astimezone():%Y-%m-%d %H:%M} · not shown again")
        made = ", ".join(f"{ROLE_TITLES.get(i.role, i.role)} {i.code_hint}" for i in self.created)
        self.query_one("#wi-list", Static).update(f"Created in this session: {made}")

    def blocker(self) -> str | None:
        if not self.created and not self.already_done():
            return "Create at least one invite, or skip this step with F3."
        return None

    def step_data(self) -> dict[str, Any]:
        if not self.created and self.wizard.state is not None:
            return self.wizard.state.step(self.step).data
        return {"invites": len(self.created)}
