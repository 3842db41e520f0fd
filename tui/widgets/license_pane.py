"""The license in force, its limits and this company's use of them; activate a new one by
pasting the key or giving the path of a `.lic` file on this terminal."""

from __future__ import annotations

import asyncio
from datetime import UTC
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, Static

from factoryos.client import ClientError, FactoryClient
from factoryos.client.ops_models import LicenseInfo
from tui.markup import escape
from tui.widgets.admin_tab import AdminTab

MAX_FILE_BYTES = 64 * 1024
STATUS_TEXT = {"licensed": "Licensed", "evaluation": "Evaluation", "expired": "Expired", "invalid": "Not valid"}
EXPIRY_WARNING_DAYS = 30


def read_key(value: str) -> str:
    """The key itself, or the text of the license file it names (read on this terminal)."""
    text = value.strip()
    if not text:
        raise ClientError("key_required", "paste the license key or give the path of a .lic file", field="key")
    if text.startswith(("FOS1.", "#")) and "FOS1." in text:  # a key, or a .lic file's text pasted whole
        return text
    path = Path(text).expanduser()
    try:
        if not path.is_file():
            raise ClientError("license_file_not_found", f"no license file {path} (and it is no key: those start "
                              "with FOS1.)", field="key")  # fmt: skip
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ClientError("license_file_too_large", f"{path} is too large for a license file", field="key")
        return path.read_text(errors="replace")
    except OSError as exc:
        raise ClientError("license_file_unreadable", f"cannot read {path}: {exc.strerror or exc}",
                          field="key") from None


def describe_license(info: LicenseInfo) -> str:
    """The status block as markup: what is in force, until when, with which limits."""
    lines = [f"[b]{STATUS_TEXT.get(info.status, info.status)}[/b] · {info.edition.title()} edition"]
    if info.customer:
        lines.append(f"Customer   {escape(info.customer)}  (license {escape(info.license_id or '')})")
    if info.expires_at is not None:
        when = f"{info.expires_at.astimezone(UTC):%Y-%m-%d}"
        left = info.days_left if info.days_left is not None else 0
        soon = f"  [b]{left} days left[/b]" if info.valid and left <= EXPIRY_WARNING_DAYS else ""
        lines.append(f"Expires    {when}{soon}")
    limits, used = info.limits, info.in_use
    lines.append(f"Limits     {used.machines}/{limits.machines} machines · {used.users}/{limits.users} users · "
                 f"{used.sites}/{limits.sites} sites (this company)")
    host = f"bound to {info.bound_to_host}" if info.bound_to_host else "any host"
    lines.append(f"Host       {host}; this server is {info.host_id}")
    if info.detail:
        lines.append(f"[i]{escape(info.detail)}[/i]")
    return "\n".join(lines)


class LicensePane(AdminTab):
    BINDINGS = [Binding("ctrl+r", "reload", "Reload", tooltip="Read the license status again.", id="reload")]
    HELP = """\
**License**: the license in force and its limits. To activate one, paste the license key
(it starts with `FOS1.`) or type the path of the `.lic` file on this terminal, then press
**Enter**. The server checks it offline; a key that is not valid changes nothing.
"""

    def __init__(self, api: FactoryClient, *, can_activate: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.can_activate = can_activate
        self.info: LicenseInfo | None = None

    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="license-status")
        if not self.can_activate:
            yield Static("The license covers every company on this server: an installation administrator "
                         "activates it (on the server host: factoryos user installation-admin).",
                         id="license-note", classes="message-info")  # fmt: skip
            return
        with Horizontal(classes="form-row"):
            yield Input(placeholder="license key (FOS1.…) or path of a .lic file", id="license-key")
            yield Button("Activate", variant="primary", id="license-activate")

    @work(exclusive=True, group="license", exit_on_error=False)
    async def load(self) -> None:
        self.info = await self.api.license()
        self.query_one("#license-status", Static).update(describe_license(self.info))

    @on(Input.Submitted, "#license-key")
    @on(Button.Pressed, "#license-activate")
    def _activate(self) -> None:
        self.activate_key(self.query_one("#license-key", Input).value)

    @work(exclusive=True, group="license-activate", exit_on_error=False)
    async def activate_key(self, value: str) -> None:
        try:
            key = await asyncio.to_thread(read_key, value)
        except ClientError as exc:
            self.app.notify(exc.detail[:1].upper() + exc.detail[1:] + ".", title="License not read",
                            severity="error")  # fmt: skip
            return
        self.info = await self.api.activate_license(key)
        self.query_one("#license-key", Input).value = ""
        self.query_one("#license-status", Static).update(describe_license(self.info))
        until = f" until {self.info.expires_at:%Y-%m-%d}" if self.info.expires_at else ""
        self.app.notify(f"{self.info.edition.title()} license for {self.info.customer}{until} is in force.",
                        title="License activated")
