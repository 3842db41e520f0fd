"""Headless Chromium driven over the DevTools protocol (a websocket, with aiohttp).

Just what the browser test needs: open a page, type, press keys, read the terminal's
text, take a screenshot and see what the page logged.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

# The page keeps xterm.js's Terminal object to itself. This catches it when textual-serve's
# script assigns `this.terminal = new Terminal(…)`, so the test can read what the screen
# shows (the canvas renderer puts no text in the DOM).
CATCH_TERMINAL = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    window.__terminals.push(value);
  },
});
"""

SCREEN_TEXT = """(() => {
  const t = window.__terminals && window.__terminals[0];
  if (!t) return "";
  const b = t.buffer.active, rows = [];
  for (let y = 0; y < t.rows; y++) { const line = b.getLine(b.viewportY + y); rows.push(line ? line.translateToString(true) : ""); }
  return rows.join("\\n");
})()"""

KEYS = {
    "Enter": {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"},
    "Tab": {"key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9},
    "Ctrl+S": {"key": "s", "code": "KeyS", "windowsVirtualKeyCode": 83, "modifiers": 2},
}


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium process with its own profile directory."""

    def __init__(self, binary: str, profile: Path, size: tuple[int, int] = (1280, 800)) -> None:
        self.process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.endpoint = self._devtools_endpoint()

    def _devtools_endpoint(self) -> str:
        assert self.process.stderr is not None
        deadline = time.monotonic() + 30
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            seen.append(line)
            if m := re.search(r"DevTools listening on (ws://\S+)", line):
                # Keep reading what it logs, or a full pipe would stall the browser.
                threading.Thread(target=self.process.stderr.read, daemon=True).start()
                return m.group(1)
        self.close()
        raise RuntimeError("chromium did not start its DevTools endpoint:\n" + "".join(seen[-20:]))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class Page:
    """A page target, attached through the browser's websocket (flattened sessions)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self._ids = itertools.count(1000)
        self.events: list[dict[str, Any]] = []  # what the page reported meanwhile (console, log …)

    @classmethod
    async def open(cls, ws: aiohttp.ClientWebSocketResponse) -> Page:
        browser = Page(ws, "")
        target = await browser.call("Target.createTarget", url="about:blank")
        attached = await browser.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        return cls(ws, attached["sessionId"])

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if self.session_id:
            message["sessionId"] = self.session_id
        await self.ws.send_json(message)
        while True:
            reply = await asyncio.wait_for(self.ws.receive_json(), 30)
            if "method" in reply and reply.get("sessionId", "") == self.session_id:
                self.events.append(reply)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def screen_text(self) -> str:
        return await self.evaluate(SCREEN_TEXT) or ""

    async def wait_for_text(self, *needles: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = await self.screen_text()
            if all(n in text for n in needles):
                return text
            await asyncio.sleep(0.25)
        raise AssertionError(f"{needles} not on the browser's screen within {timeout} s; it shows:\n{text}")

    async def cell_box(self, row: int, col: int, width: int) -> tuple[float, float, float, float]:
        """Where `width` terminal cells from (row, col) are drawn on the page, in CSS pixels."""
        box = await self.evaluate("""(() => {
          const t = window.__terminals[0], r = document.querySelector('.xterm-screen').getBoundingClientRect();
          return [r.left, r.top, r.width / t.cols, r.height / t.rows, window.devicePixelRatio];
        })()""")
        left, top, cw, ch, _ = box
        return left + col * cw, top + row * ch, left + (col + width) * cw, top + (row + 1) * ch

    async def type(self, text: str) -> None:
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        await self.call("Input.insertText", text=text)

    async def press(self, name: str) -> None:
        key = KEYS[name]
        await self.call("Input.dispatchKeyEvent", type="keyDown", **key)
        await self.call("Input.dispatchKeyEvent", type="keyUp", **{k: v for k, v in key.items() if k != "text"})

    async def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])
        path.write_bytes(data)
        return data
