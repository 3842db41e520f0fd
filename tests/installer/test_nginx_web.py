"""The shipped nginx.conf in a real nginx: the browser screens at /app/ on the same TLS, the API
untouched at /api. Upstream names are replaced by loopback ports; the rest is the file as
shipped. Needs an nginx binary (PATH, or FACTORYOS_TEST_NGINX); the Docker e2e test covers
the same inside the real stack.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from tests.conftest import LiveServer, free_port
from tests.installer.conftest import REPO_ROOT
from tests.tui.test_client import self_signed
from tests.web.test_browser import _web

pytestmark = pytest.mark.slow

NGINX = os.environ.get("FACTORYOS_TEST_NGINX") or shutil.which("nginx")


def _config(tmp: Path, port: int, cert: Path, key: Path, api: str, web: str) -> Path:
    text = (REPO_ROOT / "compose" / "nginx" / "nginx.conf").read_text()
    (tmp / "mime.types").write_text("types { text/html html; text/css css; application/javascript js; }\n")
    replacements = {
        "user www-data;": "",
        "pid /run/nginx.pid;": f"pid {tmp}/nginx.pid;",
        "error_log /dev/stderr warn;": f"error_log {tmp}/error.log warn;",
        # Debian's build keeps its temporary files under /var/lib/nginx: here, under tmp.
        "access_log /dev/stdout;": f"access_log {tmp}/access.log; client_body_temp_path {tmp}/body; "
                                   f"proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi; "
                                   f"uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;",
        "/etc/nginx/mime.types": str(tmp / "mime.types"),
        "listen 8443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
        "/etc/factoryos/tls/server.crt": str(cert),
        "/etc/factoryos/tls/server.key": str(key),
        "resolver 127.0.0.11 valid=10s ipv6=off;": "",  # upstreams are IP literals here
        "http://api:8080": api,
        "http://web:8090": web,
    }
    for old, new in replacements.items():
        assert old in text, f"nginx.conf no longer has {old!r}: update this test"
        text = text.replace(old, new)
    conf = tmp / "nginx.conf"
    conf.write_text(text)
    return conf


@pytest.fixture()
def proxy(live_server: LiveServer, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    cert, key, _ = self_signed(tmp_path)
    port = free_port()
    with _web(live_server.url, tmp_path, "--trusted-proxy", "127.0.0.1") as web_port:
        conf = _config(tmp_path, port, cert, key, live_server.url, f"http://127.0.0.1:{web_port}")
        log = tmp_path / "nginx.out"
        with log.open("wb") as sink:
            process = subprocess.Popen([NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c",
                                        str(conf), "-g", "daemon off;"], stdout=sink, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                assert process.poll() is None, log.read_text() + (tmp_path / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.1)
            yield f"https://127.0.0.1:{port}", cert
        finally:
            process.terminate()
            process.wait(10)


async def test_the_browser_screens_are_served_at_app_on_the_same_tls(proxy, live_server: LiveServer):
    url, cert = proxy
    trust = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(verify=trust, timeout=30) as http:
        assert http.get(f"{url}/app").headers["location"].endswith("/app/")
        page = http.get(f"{url}/app/")
        assert page.status_code == 200
        # Links follow the address the browser used, under /app, over TLS.
        assert f'data-session-websocket-url="wss://127.0.0.1:{url.rsplit(":", 1)[1]}/app/ws"' in page.text
        assert f'href="{url}/app/static/css/xterm.css"' in page.text
        assert http.get(f"{url}/app/static/js/textual.js").status_code == 200
        # The page's own security headers, plus nginx's HSTS.
        assert "connect-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["strict-transport-security"] == "max-age=31536000"

        # The API behind the same nginx keeps its own headers (CSP and all).
        proxied = http.get(f"{url}/api/v1/system/health")
        direct = httpx.get(f"{live_server.url}/api/v1/system/health", timeout=30)
        assert proxied.status_code == direct.status_code == 200
        for header in ("content-security-policy", "x-content-type-options", "x-frame-options"):
            assert proxied.headers[header] == direct.headers[header], header
        assert proxied.headers["content-security-policy"] != page.headers["content-security-policy"]

    # The terminal's websocket goes through nginx (upgrade), and the web process accepts the page's
    # own origin as nginx reports it, and no other.
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{url.replace('https', 'wss')}/app/ws?width=80&height=24", ssl=trust,
                                      headers={"Origin": url}) as ws:
            first = await asyncio.wait_for(ws.receive(), 60)
            assert first.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)  # the app is drawing
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{url.replace('https', 'wss')}/app/ws", ssl=trust,
                                     headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403
