"""The FactoryOS terminal app: a LAN client of the API (it never opens a database).

`make_app()` is the factory the CLI and the tests use. The app holds the remembered
profile, the signed-in `Session`, and the outbox drain loop; screens do the rest.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from factoryos.client import (
    ClientProfile,
    FactoryClient,
    ServerUnreachable,
    SessionEnded,
    default_config_path,
    default_outbox_dir,
    load_profile,
    save_profile,
)
from factoryos.client.models import Me
from tui.errors import describe
from tui.session import Session
from tui.theme import DEFAULT, HIGH_CONTRAST, STATE_VARIABLES, THEMES

log = logging.getLogger(__name__)


class FactoryApp(App[None]):
    CSS_PATH = ["styles/app.tcss"]
    TITLE = "FactoryOS"
    ENABLE_COMMAND_PALETTE = False
    NOTIFICATION_TIMEOUT = 8
    BINDINGS = [
        Binding("question_mark,f1", "toggle_help", "Help",
                tooltip="Show or hide the keys and help (F1 also works in text fields).", id="help"),
        Binding("f9", "toggle_contrast", "High-contrast theme on/off", tooltip="Switch the high-contrast theme on or "
                "off.", show=False, id="contrast"),
        # Shown in the footer of the login and start screens only, to leave room elsewhere.
        Binding("ctrl+q", "quit", "Quit", tooltip="Leave FactoryOS.", priority=True, show=False, id="quit"),
        Binding("ctrl+t", "handover", "Handover note", tooltip="Leave a note for the next shift.", show=False,
                id="handover"),
    ]

    queue_length: reactive[int] = reactive(0)
    failed_count: reactive[int] = reactive(0)  # queued entries the server refused, until fixed or discarded
    online: reactive[bool] = reactive(True)
    sending: reactive[int] = reactive(0)  # requests in flight from a form: the status says "Sending…"

    def __init__(
        self,
        *,
        server: str | None = None,
        config_path: Path | None = None,
        outbox_dir: Path | None = None,
        high_contrast: bool | None = None,
        poll_seconds: float = 2.0,
        drain_seconds: float = 5.0,
        timeout: float = 10.0,
        auto_sign_in: tuple[str, str] | None = None,
        exit_after: float | None = None,
        exit_when: threading.Event | None = None,
        server_fixed: bool = False,
        client_address: str | None = None,
    ) -> None:
        super().__init__()
        # In a browser (`factoryos web`) the server is the web process's, never the user's choice,
        # and the API hears of the browser's own address (sign-in throttling and audit are per person).
        self.server_fixed = server_fixed and bool(server)
        self.client_address = client_address
        self._auto_sign_in = auto_sign_in
        self._exit_after = exit_after
        self._exit_when = exit_when
        self.config_path = config_path or default_config_path()
        self.outbox_dir = outbox_dir or default_outbox_dir()
        self.profile: ClientProfile = load_profile(self.config_path)
        self.initial_server = server or self.profile.server
        self.poll_seconds = poll_seconds
        self.drain_seconds = drain_seconds
        self.timeout = timeout
        self.session: Session | None = None
        self._client: FactoryClient | None = None
        self._drain_timer: Timer | None = None
        self._high_contrast = high_contrast

    # -- lifecycle --------------------------------------------------------------------------

    def _exit_if_told(self) -> None:
        if self._exit_when is not None and self._exit_when.is_set():
            self.exit()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(STATE_VARIABLES)

    def on_mount(self) -> None:
        for theme in THEMES:
            self.register_theme(theme)
        if self._high_contrast is None:
            wanted = self.profile.theme
        else:
            wanted = HIGH_CONTRAST if self._high_contrast else DEFAULT
        self.theme = wanted if wanted in (DEFAULT, HIGH_CONTRAST) else DEFAULT
        from tui.screens.login import LoginScreen

        self.push_screen(LoginScreen())
        if self._exit_after is not None:
            self.set_timer(self._exit_after, self.exit)
        if self._exit_when is not None:
            self.set_interval(0.25, self._exit_if_told)
        if self._auto_sign_in is not None and self.initial_server:
            self._sign_in_directly(self.initial_server, *self._auto_sign_in)

    @work(exclusive=True, exit_on_error=False)
    async def _sign_in_directly(self, server: str, email: str, password: str) -> None:
        """The demo opens already signed in; any failure leaves the normal login screen."""
        try:
            api = await self.client_for(server)
            await api.login(email, password)
            me = await api.me()
        except Exception as exc:  # shown as a notification, never a traceback
            self.show_error(exc)
            return
        self.start_session(api, me)
        from tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen())

    async def on_unmount(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    # -- profile and client -----------------------------------------------------------------

    def save_profile(self) -> None:
        try:
            save_profile(self.config_path, self.profile)
        except OSError as exc:
            log.warning("could not save the client profile: %s", exc)

    async def client_for(self, server: str) -> FactoryClient:
        """The client for `server` with its remembered trust (a new one when either changed)."""
        trust = self.profile.trust_for(server)
        current = self._client
        if current is not None and current.server == server and current.t.trust == trust:
            return current
        if current is not None:
            await current.aclose()
        self._client = FactoryClient(server, trust=trust, timeout=self.timeout)
        if self.client_address:
            self._client.t.forward_for(self.client_address)
        return self._client

    # -- session ------------------------------------------------------------------------------

    def start_session(self, api: FactoryClient, me: Me) -> None:
        self.session = Session.open(api, me, self.outbox_dir)
        self.profile.server = api.server
        self.profile.email = me.account.email
        self.save_profile()
        self.sub_title = f"{self.session.who} · {me.company.name}"
        self.queue_length = len(self.session.outbox)
        self.failed_count = self.session.outbox.failed_count()
        self.online = True
        from tui.screens.home import HomeScreen

        self.switch_screen(HomeScreen())
        self._arm_drain(0.2)

    async def end_session(self, *, sign_out: bool = True, message: str | None = None) -> None:
        session, self.session = self.session, None
        if self._drain_timer is not None:
            self._drain_timer.stop()
        self.sub_title = ""
        if session is not None and sign_out:
            try:
                await session.api.logout()
            except Exception as exc:  # signing out locally must never fail
                log.info("server-side sign-out failed: %s", exc)
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        from tui.screens.login import LoginScreen

        await self.switch_screen(LoginScreen())
        if message:
            self.notify(message, title="Signed out", severity="warning")

    # -- errors -------------------------------------------------------------------------------

    def show_error(self, error: BaseException) -> None:
        problem = describe(error)
        if isinstance(error, ServerUnreachable):
            self.online = False
        if isinstance(error, SessionEnded) and self.session is not None:
            self.run_worker(self.end_session(sign_out=False, message=problem.message), exit_on_error=False)
            return
        self.notify(problem.message, title=problem.title, severity=problem.severity)  # type: ignore[arg-type]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Every screen's workers run with exit_on_error=False: their errors end up here.
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.show_error(event.worker.error)

    # -- outbox ---------------------------------------------------------------------------------

    def _arm_drain(self, delay: float | None = None) -> None:
        if self._drain_timer is not None:
            self._drain_timer.stop()
        if self.session is not None:
            self._drain_timer = self.set_timer(self.drain_seconds if delay is None else delay, self.drain_outbox)

    def kick_drain(self) -> None:
        """Try the queue now (after a new entry was queued, or when the user asks)."""
        self._arm_drain(0.05)

    @work(group="outbox", exit_on_error=False)
    async def drain_outbox(self) -> None:
        session = self.session
        try:
            if session is None or not len(session.outbox):
                return
            report = await session.outbox.drain()
            self.online = report.stopped_by is None or not isinstance(report.stopped_by, ServerUnreachable)
            if report.sent:
                self.notify(f"Sent {report.sent} queued entr{'y' if report.sent == 1 else 'ies'}.", title="Back online")
            for item, error in report.refused:
                self.notify(f"{item.label}: {describe(error).message} Kept in Failed entries (F8 on the "
                            "operator screen).", title="Queued entry refused", severity="error", timeout=20)
            if isinstance(report.stopped_by, SessionEnded):
                raise report.stopped_by
        finally:
            if session is not None and self.session is session:
                self.queue_length = len(session.outbox)
                self.failed_count = session.outbox.failed_count()
                self._arm_drain()

    # -- actions ----------------------------------------------------------------------------------

    def action_toggle_help(self) -> None:
        from textual.dom import DOMNode

        from tui.screens.help import HelpScreen

        screen = self.screen
        if isinstance(screen, HelpScreen):
            screen.dismiss(None)
            return
        focused = screen.focused
        nodes: list[DOMNode] = list(focused.ancestors_with_self) if focused is not None else [screen]
        text = "\n\n".join(dict.fromkeys(n.HELP for n in reversed(nodes) if getattr(n, "HELP", None)))
        # Our own keys (also hidden ones, like the menu digits), not every text-field key; only
        # those the role may use, each key once (the first binding for a key is the one that runs).
        keys: dict[str, str] = {}
        for b in screen.active_bindings.values():
            if b.enabled and b.binding.description and (b.binding.show or _declared_by_us(b.node, b.binding)):
                keys.setdefault(self.get_key_display(b.binding), b.binding.description)
        self.push_screen(HelpScreen(text, list(keys.items())))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "handover":  # for those who enter production, once signed in
            return self.session is not None and self.session.can("production.entry")
        return True

    def action_handover(self) -> None:
        from tui.screens.handover import HandoverScreen

        if not isinstance(self.screen, HandoverScreen):
            self.push_screen(HandoverScreen())

    def action_toggle_contrast(self) -> None:
        self.theme = DEFAULT if self.theme == HIGH_CONTRAST else HIGH_CONTRAST
        self.profile.theme = self.theme
        self.save_profile()


def _declared_by_us(node: object, binding: Binding) -> bool:
    """A binding from one of our classes, not one our screens and app inherit from Textual
    (Tab's "Focus Next", "Copy selected text" twice): the help lists the keys of this app."""
    for cls in type(node).__mro__:
        if not cls.__module__.startswith("tui."):
            continue
        for declared in cls.__dict__.get("BINDINGS", ()):
            key, action = ((declared.key, declared.action) if isinstance(declared, Binding)
                           else (str(declared[0]), str(declared[1])))
            if action == binding.action and binding.key in (k.strip() for k in key.split(",")):
                return True
    return False


def make_app(**options: object) -> FactoryApp:
    """The app, configured like `factoryos tui` would (tests pass dirs and a server)."""
    return FactoryApp(**options)  # type: ignore[arg-type]


def run_signed_in(server: str, email: str, password: str, *, state_dir: Path, exit_after: float | None = None,
                  stop: threading.Event | None = None) -> None:
    """Run the app signed in from the start (the demo), keeping its profile in `state_dir`; it is
    left when `stop` is set (the demo's SIGTERM or SIGHUP: the terminal closed)."""
    app = make_app(
        server=server, config_path=state_dir / "client.json", outbox_dir=state_dir / "outbox",
        auto_sign_in=(email, password), exit_after=exit_after, exit_when=stop,
    )
    if stop is not None and sys.platform != "win32":
        from tui.hangup import HangupSafeDriver

        app.driver_class = HangupSafeDriver  # the terminal may be gone by the time it is told to leave
    app.run()
