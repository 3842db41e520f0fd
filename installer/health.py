"""Wait for the API's health endpoint to answer 200 over HTTPS, trusting only our CA."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from installer.errors import InstallError

HEALTH_PATH = "/api/v1/system/health"


def base_url(host: str, port: int) -> str:
    return f"https://{host}" if port == 443 else f"https://{host}:{port}"


def wait_healthy(
    url: str,
    ca_file: Path | None,
    *,
    timeout: float,
    interval: float = 2.0,
    on_attempt: Callable[[float, str], None] = lambda elapsed, last: None,
) -> dict[str, Any]:
    """Poll until 200; returns the health JSON. `ca_file` None ⇒ the system trust store."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    start = time.monotonic()
    last = "no answer yet"
    with httpx.Client(verify=context, timeout=5.0) as client:
        while True:
            elapsed = time.monotonic() - start
            try:
                reply = client.get(url + HEALTH_PATH)
                if reply.status_code == 200:
                    return reply.json()
                last = f"HTTP {reply.status_code}: {reply.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            on_attempt(elapsed, last)
            if elapsed >= timeout:
                raise InstallError(
                    f"{url}{HEALTH_PATH} did not answer 200 within {timeout:.0f} s (last: {last}); "
                    "see `factoryos logs api`",
                    code="health_timeout",
                )
            time.sleep(interval)
