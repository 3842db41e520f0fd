"""The indexed router (`server.route_index`) picks, for every path and method, the route Starlette's
own walk over all routes picks: the first full match, else the first partial one (405), else none."""

from __future__ import annotations

import re
import uuid

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from server.app import create_app
from server.route_index import IndexedRouter

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-z]+)?}")
_SAMPLE = {":uuid": str(uuid.UUID(int=7)), ":int": "12", ":path": "a/b.txt", ":float": "1.5", None: "x-1"}
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def app(settings):
    return create_app(settings, "postgresql+psycopg://nobody@127.0.0.1:1/none", check_role=False)


def _walk(routes: list[BaseRoute], scope: dict) -> BaseRoute | None:
    """What Starlette's router hands the request to (before redirects and 404)."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def _indexed(router: IndexedRouter, scope: dict) -> BaseRoute | None:
    return _walk(router._candidates(scope["path"]), scope)


def _paths(app) -> list[str]:
    made = {_PARAM.sub(lambda m: _SAMPLE[m.group(2)], r.path) for r in app.routes if hasattr(r, "path")}
    made |= {p + "/" for p in made} | {p + "/extra" for p in made}
    return sorted(made | {"/", "/api", "/api/v1", "/api/v1/", "/nowhere/at/all/x", "/api/v1/production/"})


def test_the_app_routes_through_the_index(app) -> None:
    assert isinstance(app.router, IndexedRouter) and len(app.routes) > 200


def test_every_path_and_method_reaches_the_route_starlette_would_pick(app) -> None:
    router: IndexedRouter = app.router
    checked = differ = 0
    for path in _paths(app):
        for method in _METHODS:
            scope = {"type": "http", "path": path, "method": method, "root_path": "", "headers": []}
            expected, got = _walk(app.routes, scope), _indexed(router, scope)
            checked += 1
            if expected is not got:
                differ += 1
                print(path, method, expected, got)
    assert differ == 0 and checked > 1000


def test_routes_added_later_are_indexed_too() -> None:
    async def hello(request: Request) -> Response:
        return Response()

    router = IndexedRouter()
    router.add_route("/api/v1/things/{thing_id:uuid}", hello, methods=["GET"])
    scope = {"type": "http", "path": f"/api/v1/things/{uuid.uuid4()}", "method": "GET", "root_path": "", "headers": []}
    assert _indexed(router, scope) is router.routes[0]
    router.add_route("/api/v1/{anything}/x", hello, methods=["GET"])  # files under no key: tried for every path
    scope["path"] = "/api/v1/things/x"
    assert _indexed(router, scope) is router.routes[1] is _walk(router.routes, scope)
