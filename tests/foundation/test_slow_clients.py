"""Slow clients are cut off: headers and bodies sent a byte at a time cannot hold a connection."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from server.app import create_app
from server.slow_clients import GuardedHttpToolsProtocol
from tests.conftest import duty_claim, free_port


@pytest.fixture(scope="module")
def guarded(settings, db_urls):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORYOS_HEADER_TIMEOUT_SECONDS", "1")
        mp.setenv("FACTORYOS_BODY_TIMEOUT_SECONDS", "1")
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings, db_urls.app, duties=duty_claim(db_urls.app)), host="127.0.0.1", port=port,
                                               log_level="warning", http=GuardedHttpToolsProtocol))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        yield port
        server.should_exit = True
        thread.join(timeout=10)


def _drip(port: int, head: bytes, payload: bytes, every: float) -> tuple[bytes, float]:
    """Send `head` at once, then `payload` one byte every `every` s; what came back and when it closed."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        try:
            for byte in payload:
                s.sendall(bytes([byte]))
                time.sleep(every)
        except OSError:  # the server closed on us: what we wanted
            pass
        s.settimeout(5)
        answer = b""
        try:
            while chunk := s.recv(4096):
                answer += chunk
        except OSError:
            pass
    return answer, time.monotonic() - started


def test_headers_dripped_a_byte_at_a_time_are_cut_off(guarded) -> None:
    answer, took = _drip(guarded, b"GET /api/v1/system/health HTTP/1.1\r\n", b"Host: x\r\nX-Slow: " + b"a" * 40, 0.2)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert took < 6  # the whole drip would take 10 s


def test_a_connection_that_never_speaks_is_closed(guarded) -> None:
    answer, took = _drip(guarded, b"", b"", 0)
    assert answer.startswith(b"HTTP/1.1 408") and took < 5


def test_a_body_dripped_a_byte_at_a_time_is_cut_off(guarded) -> None:
    head = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n{")
    answer, took = _drip(guarded, head, b"", 0)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert took < 5


def test_ordinary_clients_and_keep_alive_are_untouched(guarded) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{guarded}", timeout=10) as client:
        for _ in range(3):
            assert client.get("/api/v1/system/health").status_code == 200
            time.sleep(0.5)  # within uvicorn's keep-alive, past nothing of ours
        r = client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})
        assert r.status_code == 401
