"""A site's live view computed at most once per `max_age` seconds and shared by every reader.

Terminals poll the live view of their line every few seconds; computing it per request
costs as much as an entry. One snapshot per (company, site) holds the whole site's view;
a line's view is its machines filtered out of it, and each is rendered to JSON once per
snapshot. Keys include the company: a snapshot is computed inside that company's tenant
transaction, so another company asking for the same site id computes (and fails) its own.
A reader sees what was true at most `max_age` seconds ago, or while another reader is
renewing a snapshot, at most twice that (readers do not queue behind the renewal); the
view's `at` says when.

A snapshot is shared across the company's members, so it is not read through the database's
site policy: each reader's own site scope is checked here first, and a site outside it is
not found, as it is to the database. Scopes are whole sites, so a snapshot computed by any
reader allowed the site holds all of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection

from factoryos.db.tenant import current_site_scope
from factoryos.errors import NotFound
from factoryos.live.models import LiveQuery, LiveView
from factoryos.live.view import live_view

_FORGET_AFTER = 60.0  # seconds unread before a site's snapshot is dropped


@dataclass
class Snapshot:
    view: LiveView
    made: float
    _rendered: dict[UUID | None, bytes] = field(default_factory=dict)

    def of_line(self, line_id: UUID | None) -> LiveView:
        if line_id is None:
            return self.view
        return LiveView.model_construct(site_id=self.view.site_id, at=self.view.at,
                                        machines=[m for m in self.view.machines if m.line_id == line_id])

    def json(self, line_id: UUID | None) -> bytes:
        body = self._rendered.get(line_id)
        if body is None:  # two threads may both render: same bytes, no lock needed
            body = self._rendered[line_id] = self.of_line(line_id).model_dump_json().encode()
        return body


class LiveSnapshots:
    def __init__(self, max_age: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._snapshots: dict[tuple[UUID, UUID], Snapshot] = {}
        self._locks: dict[tuple[UUID, UUID], threading.Lock] = {}
        self._guard = threading.Lock()
        self.computed = 0  # snapshots made so far (tests and benchmarks read it)

    def get(self, conn: Connection, tenant_id: UUID, site_id: UUID, now: Callable[[], datetime]) -> Snapshot:
        """The site's snapshot, computed in `conn` (the caller's tenant transaction) when stale."""
        scope = current_site_scope(conn)
        if scope is not None and site_id not in scope:
            raise NotFound(f"site {site_id} not found", code="site_not_found")
        key = (tenant_id, site_id)
        snap = self._fresh(key, self.max_age)
        if snap is not None:
            return snap
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=False):
            # Another reader is renewing it: the previous snapshot will do if not too old.
            snap = self._fresh(key, 2 * self.max_age)
            if snap is not None:
                return snap
            lock.acquire()  # none fit to serve: wait for the renewal
        try:
            snap = self._fresh(key, self.max_age)
            if snap is None:
                view = live_view(conn, tenant_id, LiveQuery(site_id=site_id), now())
                snap = Snapshot(view, self._clock())
                self.computed += 1
                with self._guard:
                    self._snapshots[key] = snap
                    self._forget_old(snap.made)
            return snap
        finally:
            lock.release()

    def forget(self, tenant_id: UUID) -> None:
        """Drop a company's snapshots after a change readers must see at once (a counter anomaly
        decided); the next reader computes afresh. One renewed meanwhile is at most `max_age` old."""
        with self._guard:
            for key in [k for k in self._snapshots if k[0] == tenant_id]:
                del self._snapshots[key]

    def _fresh(self, key: tuple[UUID, UUID], max_age: float) -> Snapshot | None:
        snap = self._snapshots.get(key)
        if snap is not None and self._clock() - snap.made < max_age:
            return snap
        return None

    def _forget_old(self, now: float) -> None:
        old = [k for k, s in self._snapshots.items() if now - s.made > _FORGET_AFTER]
        for k in old:
            del self._snapshots[k]
            self._locks.pop(k, None)
