"""Each browser tab's app runs without animations: every frame would cross the LAN.

Through the real path: `factoryos web` as its own process, a websocket as the page opens it,
the tab's app process that textual-serve starts for it; then Textual itself, in exactly that
process's environment, says which animation level an app there runs at.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil

from tests.conftest import LiveServer
from tests.web.test_browser import _web


async def _tab_process(timeout: float = 30) -> psutil.Process:
    """The tab's Python process: a descendant of this test (through `factoryos web`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in psutil.Process(os.getpid()).children(recursive=True):
            try:
                command = process.cmdline()
            except psutil.NoSuchProcess:
                continue
            if command[:1] and Path(command[0]).name.startswith("python") and "tui.web_session" in command:
                return process
        await asyncio.sleep(0.2)
    raise AssertionError("no tab process started for the websocket")


def _animation_level(environment: dict[str, str]) -> str:
    probe = "from textual.app import App; print(App().animation_level)"
    done = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


async def test_a_browser_tab_runs_its_app_without_animations(live_server: LiveServer, tmp_path: Path):
    with _web(live_server.url, tmp_path) as port:
        async with aiohttp.ClientSession() as http, \
                http.ws_connect(f"http://127.0.0.1:{port}/ws?width=80&height=24") as ws:
            await ws.send_json(["resize", {"width": 80, "height": 24}])
            await asyncio.wait_for(ws.receive(), 30)  # the app is up and drawing
            tab = await _tab_process()
            environment = tab.environ()

    assert environment.get("TEXTUAL_ANIMATIONS") == "none"
    assert _animation_level(environment) == "none"
