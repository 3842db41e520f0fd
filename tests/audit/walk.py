"""The route audit walk's shared pieces: a step per mutating route, registered by key.

Core steps live in tests/audit/test_route_audit.py; a module's own steps live in
tests/<area>/audit_steps.py (imported by the walk after the core ones, in the order listed
there), so a new module adds its routes' steps without touching the walk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.accounts import Session


@dataclass(frozen=True)
class Expect:
    action: str
    entity_type: str
    entity_id: str | None
    shape: str  # create | update | delete | event


@dataclass
class Walk:
    http: httpx.Client
    owner: Session
    state: dict[str, Any] = field(default_factory=dict)

    def call(self, method: str, path: str, who: Session | None = None, **kw: Any) -> httpx.Response:
        headers = (who or self.owner).headers if who is not False else {}
        r = self.http.request(method, path, headers=headers, **kw)
        assert r.status_code < 400, f"{method} {path}: {r.status_code} {r.text}"
        return r


Step = Callable[[Walk], Expect]
STEPS: dict[str, Step] = {}


def step(key: str) -> Callable[[Step], Step]:
    def register_step(fn: Step) -> Step:
        STEPS[key] = fn
        return fn

    return register_step
