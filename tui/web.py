"""The terminal app in a browser: textual-serve runs one app process per browser tab.

The page and its websocket are all this serves; the app in each tab is the same LAN client
of the API as `factoryos tui` (HTTP only) and signs in the same way. What is added to
textual-serve's `Server`: TLS, links built from the address the browser used (so binding
0.0.0.0 works), no font from the internet, a cap on open tabs, and websockets refused from
pages of another origin.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import ssl
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "web_templates"


def session_command(server: str, *, ca_file: Path | None = None, fingerprint: str | None = None,
                    high_contrast: bool = False) -> str:
    """The shell command textual-serve runs for each tab (it starts it through a shell)."""
    parts = [sys.executable, "-m", "tui.web_session", server]
    if ca_file is not None:
        parts += ["--ca-file", str(ca_file)]
    if fingerprint:
        parts += ["--fingerprint", fingerprint]
    if high_contrast:
        parts.append("--high-contrast")
    return " ".join(shlex.quote(p) for p in parts)


class WebServer(Server):
    def __init__(self, command: str, *, host: str, port: int, public_url: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, max_sessions: int = 20) -> None:
        super().__init__(command, host=host, port=port, title="FactoryOS", public_url=public_url,
                         templates_path=TEMPLATES)
        self.explicit_public_url = public_url.rstrip("/") if public_url else None
        self.ssl_context = ssl_context
        self.max_sessions = max_sessions
        self.sessions = 0
        scheme = "https" if ssl_context else "http"
        self.public_url = self.explicit_public_url or f"{scheme}://{host}:{port}"

    def _base_url(self, request: web.Request) -> str:
        # Behind a proxy the browser's address is only known from --public-url; otherwise
        # the page links back to the address the browser used.
        if self.explicit_public_url:
            return self.explicit_public_url
        return f"{'https' if self.ssl_context else 'http'}://{request.host}"

    async def handle_index(self, request: web.Request) -> web.Response:  # type: ignore[override]
        base = self._base_url(request)
        ws_base = ("wss:" if base.startswith("https") else "ws:") + base.split(":", 1)[1]
        try:
            font_size = max(8, min(40, int(request.query.get("fontsize", "16"))))
        except ValueError:
            font_size = 16
        context: dict[str, Any] = {
            "font_size": font_size,
            "app_websocket_url": f"{ws_base}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser page: nothing to hijack
        expected = urlsplit(self._base_url(request)).netloc
        return urlsplit(origin).netloc.lower() == expected.lower()

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self._same_origin(request):
            log.warning("refused a websocket from origin %s", request.headers.get("Origin"))
            raise web.HTTPForbidden(text="This page may only be used from its own address.")
        if self.sessions >= self.max_sessions:
            raise web.HTTPServiceUnavailable(text=f"All {self.max_sessions} browser sessions are in use.")
        self.sessions += 1
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions -= 1

    def initialize_logging(self) -> None:
        # textual-serve's default logs tracebacks with local variables: never here.
        logging.basicConfig(level="DEBUG" if self.debug else "INFO",
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"[bold]FactoryOS[/] in the browser on {self.public_url}   Ctrl+C to stop",
                           highlight=False, soft_wrap=True)

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT/SIGTERM (textual-serve's loop, with TLS when given)."""
        import signal

        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_exit)
            except NotImplementedError:  # pragma: no cover - not on POSIX
                pass
        web.run_app(self._make_app(), host=self.host, port=self.port, ssl_context=self.ssl_context,
                    handle_signals=False, loop=loop, print=lambda *args: None)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
