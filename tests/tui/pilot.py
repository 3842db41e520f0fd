"""Pilot helpers: type into fields, wait for workers, sign in through the real screen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static


async def _app_thread_idle(min_sleep: float = 1 / 50, max_sleep: float = 1) -> None:
    """Textual's `wait_for_idle`, measuring the app's thread instead of the whole process.

    Pilot waits after every key (twice) and in `pause()` until the process's CPU time stops
    advancing, for up to a second. In these tests the real server runs in the same process on a
    thread: while it answers the app's polls or runs its own workers the process is never idle,
    and each key waited up to that second for work that is not the app's. Whatever the test needs
    from the server it waits for with `until`."""
    from textual import _wait

    start = time.monotonic()
    while True:
        cpu = time.thread_time()
        await asyncio.sleep(_wait.SLEEP_GRANULARITY)
        elapsed = time.monotonic() - start
        if elapsed >= max_sleep or (elapsed > min_sleep and time.thread_time() - cpu < _wait.SLEEP_IDLE):
            return


def wait_for_the_app_only() -> None:
    """Install `_app_thread_idle` where Textual's app and pilot look it up (tests/conftest.py calls
    this once per session); a Textual without that function is left as it is."""
    import textual.app
    import textual.pilot

    for module in (textual.app, textual.pilot):
        if hasattr(module, "wait_for_idle"):
            module.wait_for_idle = _app_thread_idle


async def settle(pilot: Pilot, timeout: float = 10.0) -> None:
    """Let queued messages run and every worker finish."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Wait (bounded) for UI state driven by workers and timers."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
        await asyncio.sleep(0)
    # A screen just pushed may not have mounted its widgets yet: let the queued messages run so
    # the caller can query them.
    await pilot.pause()


async def fill(pilot: Pilot, selector: str, text: str) -> None:
    """Put text in a field (set directly: pressing each key costs a screen refresh)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    field.cursor_position = len(text)
    await pilot.pause()


def text_of(pilot: Pilot, selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


async def sign_in(pilot: Pilot, email: str, password: str) -> None:
    await fill(pilot, "#email", email)
    await fill(pilot, "#password", password)
    await pilot.press("enter")


async def signed_in(pilot: Pilot, email: str, password: str) -> None:
    """Sign in through the login screen and wait for the start screen."""
    from tui.screens.home import HomeScreen

    await sign_in(pilot, email, password)
    await until(pilot, lambda: isinstance(pilot.app.screen, HomeScreen), what="home screen")


async def on_dashboard(pilot: Pilot, email: str, password: str) -> Any:
    """Signed in, on the live dashboard (the start screen's 2), its first poll shown; the screen."""
    from tui.screens.dashboard import DashboardScreen

    await signed_in(pilot, email, password)
    await pilot.press("2")
    await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="dashboard")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.last is not None, what="first poll")
    return screen


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*list(text))


def notes(pilot: Pilot) -> list[str]:
    """The notifications on screen now, as "title: message" (Textual keeps no public list)."""
    return [f"{n.title}: {n.message}" for n in pilot.app._notifications]  # noqa: SLF001


async def noted(pilot: Pilot, text: str, timeout: float = 60.0) -> str:
    """Wait for a notification containing `text`; returns it."""
    await until(pilot, lambda: any(text in n for n in notes(pilot)), timeout, what=f"notification {text!r}")
    return next(n for n in notes(pilot) if text in n)

async def open_target_form(pilot: Pilot, email: str, password: str, machine_id: str, rows: int = 2) -> Any:
    """Sign in, open Planning (4) and the target form of one machine in the current shift;
    returns the targets table."""
    from textual.widgets import DataTable

    from tui.screens.plan_forms import TargetForm
    from tui.screens.planning import PlanningScreen

    await signed_in(pilot, email, password)
    await pilot.press("4")
    await until(pilot, lambda: isinstance(pilot.app.screen, PlanningScreen), what="planning")
    screen = pilot.app.screen
    table = screen.query_one("#plans-table", DataTable)
    await until(pilot, lambda: table.row_count == rows and screen.instance is not None, what="plans")
    table.focus()
    table.move_cursor(row=table.get_row_index(machine_id))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, TargetForm), what="target form")
    return table
