"""A router that tries only the routes a path can match.

Starlette's router tries its routes one by one, in order; with hundreds of them, even ruling each
out by its literal start costs more than the request's own parsing (#25). A route's pattern only
matches paths that start with its literal part (the path up to its first parameter), so the routes
whose literal part runs past the path's first three segments (`/api/v1/production/…`) are filed
under those segments, and a request tries the routes filed under its own, in their order, and the
few others. The first full match, or else the first partial one (405), is the one Starlette would
have found; a path none fits goes the whole way (redirects, 404) as before.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

_DEPTH = 4  # a key runs to the path's fourth slash: "/api/v1/production/"


def _key(path: str) -> str | None:
    """The path's first three segments with their slashes, or None for a shorter path."""
    end = -1
    for _ in range(_DEPTH):
        end = path.find("/", end + 1)
        if end < 0:
            return None
    return path[: end + 1]


def _literal(route: BaseRoute) -> str | None:
    return route.path.split("{", 1)[0] if isinstance(route, Route) else None


class IndexedRouter(Router):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._index: dict[str, list[BaseRoute]] = {}
        self._others: list[BaseRoute] = []
        self._indexed = 0

    def _candidates(self, path: str) -> list[BaseRoute]:
        if self._indexed != len(self.routes):  # routes added after construction (tests do)
            self._build()
        key = _key(path)
        return self._index.get(key, self._others) if key is not None else self._others

    def _build(self) -> None:
        filed: dict[str, list[int]] = {}
        others: list[int] = []
        for i, route in enumerate(self.routes):
            literal = _literal(route)
            key = _key(literal) if literal is not None else None
            if key is None:
                others.append(i)
            else:
                filed.setdefault(key, []).append(i)
        self._others = [self.routes[i] for i in others]
        self._index = {key: [self.routes[i] for i in sorted(own + others)] for key, own in filed.items()}
        self._indexed = len(self.routes)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        partial = partial_scope = None
        for route in self._candidates(scope["path"]):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            assert partial_scope is not None
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)  # no route fits: redirect or 404, as Starlette does
