"""Request handlers run in two bounded pools: long ones (reports, dumps, imports) cannot take
the threads the terminals' short requests need."""

from __future__ import annotations

import asyncio
import threading

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse

from factoryos.config import Settings
from server.api import PUBLIC, Endpoint, RequestLimiters, make_route
from server.routes import ROUTERS


def test_the_slow_routes_are_marked_long_running() -> None:
    long = {f"{e.method} {e.path}" for r in ROUTERS for e in r.endpoints if e.long_running}
    assert "GET /api/v1/kpis/oee" in long and "POST /api/v1/backup/create" in long
    assert "POST /api/v1/jobs/import" in long
    assert {p for p in long if p.startswith("GET /api/v1/reports/")} >= {"GET /api/v1/reports/shifts"}
    assert "POST /api/v1/production/entry" not in long and "GET /api/v1/production/live" not in long


async def test_long_requests_queue_in_their_own_pool_and_leave_short_ones_running() -> None:
    release = threading.Event()
    running, most = 0, 0
    guard = threading.Lock()

    def slow(ctx) -> JSONResponse:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        release.wait(30)
        with guard:
            running -= 1
        return JSONResponse({"slow": True})

    def fast(ctx) -> JSONResponse:
        return JSONResponse({"fast": True})

    endpoints = [Endpoint("GET", "/slow", slow, PUBLIC, uses_db=False, long_running=True),
                 Endpoint("GET", "/fast", fast, PUBLIC, uses_db=False)]
    app = Starlette(routes=[make_route(e) for e in endpoints])
    app.state.settings = Settings(request_threads=1, long_request_threads=1)
    app.state.limiters = RequestLimiters.of(app.state.settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        slow_calls = [asyncio.create_task(client.get("/slow")) for _ in range(3)]
        while most == 0:  # the first long request holds the long pool's only thread
            await asyncio.sleep(0.01)
        # …and the short pool is untouched: a terminal's request still answers.
        assert (await asyncio.wait_for(client.get("/fast"), 30)).json() == {"fast": True}
        assert not any(t.done() for t in slow_calls)
        release.set()
        answers = await asyncio.wait_for(asyncio.gather(*slow_calls), 30)
    assert [a.json() for a in answers] == [{"slow": True}] * 3
    assert most == 1, "long requests ran one at a time, as configured"
