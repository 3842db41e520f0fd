"""`factoryos web` in real headless Chromium: open the page, sign in, see the dashboard.

The API server is the real app on loopback; `factoryos web` runs as its own process and
starts the terminal app for the browser tab; Chromium is driven over the DevTools protocol.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
import pytest
from PIL import Image

from tests.conftest import LiveServer, free_port
from tests.tui.conftest import Plant, build_plant
from tests.web.cdp import CATCH_TERMINAL, Browser, Page, chromium_binary

pytestmark = pytest.mark.slow

CHROMIUM = chromium_binary()


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"factoryos web exited: {log.read_text(errors='replace')}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"factoryos web did not listen on {port} within {timeout} s")


def _factoryos() -> list[str]:
    script = Path(sys.executable).with_name("factoryos")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from cli.main import main; main()"]


@contextmanager
def _web(server: str, tmp_path: Path, *options: str, cwd: Path | None = None) -> Iterator[int]:
    """`factoryos web` as its own process (in `cwd`, default this one's); yields its port."""
    port = free_port()
    env = {**os.environ, "FACTORYOS_CLIENT_OUTBOX": str(tmp_path / "outbox")}
    log = tmp_path / "web.log"  # a file, not a pipe nobody reads
    with log.open("wb") as sink:
        process = subprocess.Popen([*_factoryos(), "web", "--server", server, "--port", str(port), *options],
                                   stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        _wait_for_port(port, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture()
def web_server(live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    with _web(live_server.url, tmp_path) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    b = Browser(CHROMIUM, tmp_path / "chromium-profile")
    try:
        yield b
    finally:
        b.close()


def _screenshot_dir(tmp_path: Path) -> Path:
    # Kept beside the test's other files; set FACTORYOS_TEST_SCREENSHOTS to keep them elsewhere.
    where = Path(os.environ.get("FACTORYOS_TEST_SCREENSHOTS", tmp_path))
    where.mkdir(parents=True, exist_ok=True)
    return where


async def test_sign_in_and_see_the_dashboard_in_chromium(api: httpx.Client, web_server: str, browser: Browser,
                                                         tmp_path: Path):
    world: Plant = build_plant(api)
    company = api.get("/api/v1/auth/me", headers=world.owner.headers).json()["company"]["name"]

    async with aiohttp.ClientSession() as http, http.ws_connect(browser.endpoint, max_msg_size=0) as ws:
        page = await Page.open(ws)
        await page.call("Page.enable")
        await page.call("Emulation.setFocusEmulationEnabled", enabled=True)  # keys reach a background tab
        await page.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
        await page.call("Page.navigate", url=web_server)
        # The same sign-in screen as the terminal, with the server already filled in.
        await page.wait_for_text("Sign in to FactoryOS", "Email")
        await page.type(world.owner.email)
        await page.wait_for_text(world.owner.email)
        await page.press("Tab")
        # A person's pause: the app moves the focus after the key, so text typed at once could
        # still land in the email field (what a scanner's burst does; tested in tests/tui).
        await asyncio.sleep(1.0)
        await page.type(world.password)
        await page.press("Enter")
        await page.wait_for_text(company)
        await page.type("2")  # the start screen's Dashboard
        text = await page.wait_for_text("Main plant", "PRESS-01", company)
        row = next(i for i, line in enumerate(text.splitlines()) if company in line)
        box = await page.cell_box(row, text.splitlines()[row].index(company), len(company))
        shot = await page.screenshot(_screenshot_dir(tmp_path) / "web-dashboard.png")

    assert company in text  # the header names the signed-in company
    # The screenshot shows it: where the terminal has the name, the pixels hold glyphs (ink
    # and background), as against the empty cells right of the header's text.
    image = Image.open(io.BytesIO(shot)).convert("L")
    name = image.crop(tuple(round(v) for v in box))
    name.save(_screenshot_dir(tmp_path) / "web-company-name.png")
    blank = image.crop((image.width - 60, round(box[1]), image.width - 10, round(box[3])))
    assert _ink(name) > 0.08 and _ink(blank) < 0.01, (_ink(name), _ink(blank))


def _ink(region: Image.Image) -> float:
    """The share of pixels far from the region's most common shade (the background)."""
    counts = region.histogram()
    background = max(range(256), key=counts.__getitem__)
    inked = sum(n for shade, n in enumerate(counts) if abs(shade - background) > 60)
    return inked / (region.width * region.height)


async def test_a_report_downloads_in_the_browser_not_on_the_server(api: httpx.Client, live_server: LiveServer,
                                                                   browser: Browser, tmp_path: Path):
    """Ctrl+S on the Reports screen in a browser tab: the file arrives in the browser's downloads.
    It used to be written to the working folder of `factoryos web` on the server host, a folder all
    browser users share, while the screen said "Saved"."""
    world: Plant = build_plant(api)
    host_folder, downloads = tmp_path / "web-cwd", tmp_path / "downloads"
    host_folder.mkdir()
    downloads.mkdir()
    with _web(live_server.url, tmp_path, cwd=host_folder) as port:
        async with aiohttp.ClientSession() as http, http.ws_connect(browser.endpoint, max_msg_size=0) as ws:
            await Page(ws, "").call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
            page = await Page.open(ws)
            await page.call("Page.enable")
            await page.call("Emulation.setFocusEmulationEnabled", enabled=True)
            await page.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
            await page.call("Page.navigate", url=f"http://127.0.0.1:{port}")
            await page.wait_for_text("Sign in to FactoryOS", "Email")
            await page.type(world.owner.email)
            await page.wait_for_text(world.owner.email)
            await page.press("Tab")
            await asyncio.sleep(1.0)  # as above: the focus moves after the key
            await page.type(world.password)
            await page.press("Enter")
            await page.wait_for_text("Reports")
            await page.type("7")  # the start screen's Reports
            await page.wait_for_text("Report", "Format", "Main plant")
            assert "Save as" not in await page.screen_text()  # the host's folders are not the browser's
            await page.press("Ctrl+S")
            text = await page.wait_for_text("to the browser's downloads", timeout=60)
            deadline = time.monotonic() + 30
            while not [f for f in downloads.iterdir() if f.suffix == ".pdf"] and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
    (pdf,) = [f for f in downloads.iterdir() if f.suffix == ".pdf"]
    assert pdf.name.startswith("production-") and pdf.name in text
    assert pdf.read_bytes().startswith(b"%PDF")
    assert list(host_folder.iterdir()) == []  # nothing written where `factoryos web` runs


async def test_page_loads_without_errors_in_the_browser_console(web_server: str, browser: Browser):
    """Every page load logged a 404 for /favicon.ico: an error where a plant's IT looks first."""
    async with aiohttp.ClientSession() as http, http.ws_connect(browser.endpoint, max_msg_size=0) as ws:
        page = await Page.open(ws)
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            await page.call(domain)
        await page.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
        await page.call("Page.navigate", url=web_server)
        await page.wait_for_text("Sign in to FactoryOS")
        await asyncio.sleep(1.0)  # the late requests (icon) and their log entries
        await page.evaluate("0")
    errors = [e["params"] for e in page.events
              if (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
              or e["method"] == "Runtime.exceptionThrown"
              or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")]
    assert errors == []


async def test_page_loads_nothing_from_outside_and_refuses_other_origins(web_server: str):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{web_server}/", headers={"Host": "screens.factory.lan:8090"}) as reply:
            page = await reply.text()
        assert reply.status == 200
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert "googleapis" not in page and "https://" not in page.split("<body", 1)[0]
        # Links follow the address the browser used, so binding 0.0.0.0 works from any PC.
        assert 'data-session-websocket-url="ws://screens.factory.lan:8090/ws"' in page

        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{web_server}/ws", headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403


async def test_serves_https_with_the_certificate_given(live_server: LiveServer, tmp_path: Path):
    from tests.tui.test_client import self_signed

    cert, key, _ = self_signed(tmp_path)
    with _web(live_server.url, tmp_path, "--tls-cert", str(cert), "--tls-key", str(key)) as port:
        context = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"https://127.0.0.1:{port}/", ssl=context) as reply:
                page = await reply.text()
            assert reply.status == 200
            # The page's own links stay on TLS: the terminal's websocket is wss.
            assert f'data-session-websocket-url="wss://127.0.0.1:{port}/ws"' in page
            with pytest.raises(aiohttp.ClientError):
                await http.get(f"http://127.0.0.1:{port}/")
