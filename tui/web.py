"""The terminal app in a browser: textual-serve runs one app process per browser tab.

The page and its websocket are all this serves; the app in each tab is the same LAN client
of the API as `factoryos tui` (HTTP only) and signs in the same way. What is added to
textual-serve's `Server`: TLS, links built from the address the browser used (so binding
0.0.0.0 works), no font from the internet, tab apps without animations, a cap on open tabs,
websockets refused from pages of another origin, and each tab's app told the browser's
address: every tab reaches the API from this process's address, so it forwards the browser's
own in X-Forwarded-For (which the API believes only when this process's address is in its
`trusted_proxies`). Otherwise one person's wrong passwords would throttle sign-in for every
browser user.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import shlex
import ssl
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server

log = logging.getLogger(__name__)

_TAB_ADDRESS: ContextVar[str | None] = ContextVar("tab_address", default=None)

TEMPLATES = Path(__file__).parent / "web_templates"
# The page is textual-serve's, with inline script and styles; everything else it may load or
# reach is its own origin (the websocket included), so nothing leaves the plant network.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
# What a trusted proxy may say about the browser's address: a host[:port] and a path prefix.
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
_PREFIX = re.compile(r"^/[A-Za-z0-9_/-]*$")


# Set in each tab's environment (Textual reads it when imported). Every animation frame would
# cross the LAN to the browser; a plant terminal gains nothing from them.
TAB_ENVIRONMENT = {"TEXTUAL_ANIMATIONS": "none"}


def session_command(server: str, *, ca_file: Path | None = None, fingerprint: str | None = None,
                    high_contrast: bool = False) -> str:
    """The shell command textual-serve runs for each tab (it starts it through a shell)."""
    parts = [f"{name}={value}" for name, value in TAB_ENVIRONMENT.items()]
    parts += [sys.executable, "-m", "tui.web_session", server]
    if ca_file is not None:
        parts += ["--ca-file", str(ca_file)]
    if fingerprint:
        parts += ["--fingerprint", fingerprint]
    if high_contrast:
        parts.append("--high-contrast")
    return " ".join(shlex.quote(p) for p in parts)


class WebServer(Server):
    def __init__(self, command: str, *, host: str, port: int, public_url: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, max_sessions: int = 20,
                 trusted_proxies: list[str] | None = None) -> None:
        super().__init__(command, host=host, port=port, title="FactoryOS", public_url=public_url,
                         templates_path=TEMPLATES)
        self.explicit_public_url = public_url.rstrip("/") if public_url else None
        self.ssl_context = ssl_context
        self.max_sessions = max_sessions
        self.trusted_proxies = set(trusted_proxies or [])
        self.sessions = 0
        scheme = "https" if ssl_context else "http"
        self.public_url = self.explicit_public_url or f"{scheme}://{host}:{port}"

    def _base_url(self, request: web.Request) -> str:
        # --public-url when given; behind a trusted proxy (nginx at /app/), the address the
        # browser used as the proxy reports it; otherwise the address this process was reached at.
        if self.explicit_public_url:
            return self.explicit_public_url
        scheme, host, prefix = "https" if self.ssl_context else "http", request.host, ""
        if request.remote in self.trusted_proxies:
            headers = request.headers
            if headers.get("X-Forwarded-Proto") in ("http", "https"):
                scheme = headers["X-Forwarded-Proto"]
            if _HOST.match(headers.get("X-Forwarded-Host", "")):
                host = headers["X-Forwarded-Host"]
            if _PREFIX.match(headers.get("X-Forwarded-Prefix", "")):
                prefix = headers["X-Forwarded-Prefix"].rstrip("/")
        return f"{scheme}://{host}{prefix}"

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
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser page: nothing to hijack
        expected = urlsplit(self._base_url(request)).netloc
        return urlsplit(origin).netloc.lower() == expected.lower()

    def browser_address(self, request: web.Request) -> str | None:
        """The browser's IP: the peer, or what a trusted proxy (nginx) says in X-Forwarded-For,
        read as the API reads it (the last hop that is not a trusted proxy). Only a well-formed
        IP address is returned: it goes on the session's command line."""
        address = request.remote or ""
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded and address in self.trusted_proxies:
            for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
                address = hop
                if hop not in self.trusted_proxies:
                    break
        try:
            return str(ipaddress.ip_address(address))
        except ValueError:
            return None

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self._same_origin(request):
            log.warning("refused a websocket from origin %s", request.headers.get("Origin"))
            raise web.HTTPForbidden(text="This page may only be used from its own address.")
        if self.sessions >= self.max_sessions:
            raise web.HTTPServiceUnavailable(text=f"All {self.max_sessions} browser sessions are in use.")
        self.sessions += 1
        try:
            return await self._run_session(request)
        finally:
            self.sessions -= 1

    @property
    def command(self) -> str:
        """textual-serve reads this for each tab it starts: the tab's own, with its browser's address."""
        address = _TAB_ADDRESS.get()
        return self._command if address is None else f"{self._command} --client-address {shlex.quote(address)}"

    @command.setter
    def command(self, value: str) -> None:
        self._command = value

    async def _run_session(self, request: web.Request) -> web.WebSocketResponse:
        # Each websocket is served in a task of its own: the address set here is that tab's only.
        _TAB_ADDRESS.set(self.browser_address(request))
        return await super().handle_websocket(request)

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
