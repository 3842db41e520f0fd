"""What every screen shares: header and footer, Escape goes back, `?` help, the session."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from factoryos.client import FactoryClient
from tui.session import Session
from tui.worker_errors import ShowsWorkerErrors

if TYPE_CHECKING:
    from tui.app import FactoryApp


class AppScreen(ShowsWorkerErrors, Screen[None]):
    """A screen of a signed-in session (or the sign-in itself)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Go back to the previous screen.", id="back"),
    ]
    HELP = "**Escape** goes back. **?** (or **F1** inside text fields) shows this help."
    # Actions the role must allow (any of the permissions): otherwise their keys are neither
    # shown in the footer and help nor active.
    ACTION_PERMISSIONS: ClassVar[dict[str, tuple[str, ...]]] = {}

    @property
    def factory(self) -> FactoryApp:
        return self.app  # type: ignore[return-value]

    @property
    def session(self) -> Session:
        session = self.factory.session
        if session is None:
            raise RuntimeError("no session")
        return session

    @property
    def api(self) -> FactoryClient:
        return self.session.api

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        needs = self.ACTION_PERMISSIONS.get(action)
        if needs:
            session = self.factory.session
            if session is None or not any(session.can(p) for p in needs):
                return False
        return True

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.dismiss()
