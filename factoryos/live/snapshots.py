"""A site's live view computed at most once per `max_age` seconds and shared by every reader.

Terminals poll the live view of their line every few seconds; computing it per request
costs as much as an entry. One snapshot per (company, site) holds the whole site's view;
a line's view is its machines filtered out of it, and each is rendered to JSON once per
snapshot. Keys include the company: a snapshot is computed inside that company's tenant
transaction, so another company asking for the same site id computes (and fails) its own.
A reader sees what was true at most `max_age` seconds ago, or while a snapshot is being
renewed, at most twice that (readers do not queue behind the renewal); the view's `at` says
when.

In a server (`start`), a background thread per process renews the snapshots that are being
read, so a request never pays for a rebuild: readers take the last snapshot, and only the
first read of a cold site (or one the renewer has fallen behind on) computes it. Without
`start` (tests, scripts), a reader that finds its snapshot stale renews it in its own
transaction, as before.

A snapshot is shared across the company's members, so it is not read through the database's
site policy: each reader's own site scope is checked here first, and a site outside it is
not found, as it is to the database. Scopes are whole sites, so a snapshot computed by any
reader allowed the site holds all of it. A reader limited to the machines they are certified
for (machine scope, 0025) gets the shared snapshot filtered to those machines, and never
computes one for others (under their limit it would hold only their machines).

A snapshot also holds the running shift's OEE of every machine of the site (`ShiftOee`), from
the same rows: dashboards asking `/kpis/oee?shift=running` share it (`for_oee`). They accept
it older, up to `oee_max_age` (at least 2 s): a site read only by dashboards is renewed that
often rather than every `max_age`, and one whose live view is read costs them nothing more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Connection, Engine

from factoryos.db.tenant import tenant_transaction
from factoryos.errors import NotFound
from factoryos.identity.certifications import current_scopes
from factoryos.live.models import LiveView
from factoryos.live.shift_oee import ShiftOee
from factoryos.live.view import site_live
from factoryos.production.kpi_models import Scope

_FORGET_AFTER = 60.0  # seconds unread before a site's snapshot is dropped
_RENEW_WHILE_READ = 10.0  # seconds unread after which the background renewer leaves a site alone
OEE_MAX_AGE = 2.0  # seconds: the least `oee_max_age`; dashboards poll every few seconds

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    view: LiveView
    made: float
    oee: ShiftOee
    _rendered: dict[UUID | None, bytes] = field(default_factory=dict)
    _oee_rendered: dict[tuple[Scope, UUID], bytes] = field(default_factory=dict)

    def of_line(self, line_id: UUID | None) -> LiveView:
        if line_id is None:
            return self.view
        return LiveView.model_construct(site_id=self.view.site_id, at=self.view.at,
                                        machines=[m for m in self.view.machines if m.line_id == line_id])

    def only(self, machine_ids: tuple[UUID, ...]) -> Snapshot:
        """This snapshot as a reader limited to these machines sees it (rendered for them alone)."""
        keep = set(machine_ids)
        return Snapshot(LiveView.model_construct(site_id=self.view.site_id, at=self.view.at,
                                                 machines=[m for m in self.view.machines if m.machine_id in keep]),
                        self.made, self.oee.only(machine_ids))

    def json(self, line_id: UUID | None) -> bytes:
        body = self._rendered.get(line_id)
        if body is None:  # two threads may both render: same bytes, no lock needed
            body = self._rendered[line_id] = self.of_line(line_id).model_dump_json().encode()
        return body

    def oee_json(self, scope: Scope, scope_id: UUID) -> bytes:
        """The running shift's OEE report of the site, a line or a machine of it, rendered once."""
        body = self._oee_rendered.get((scope, scope_id))
        if body is None:
            body = self._oee_rendered[(scope, scope_id)] = self.oee.report(scope, scope_id).model_dump_json().encode()
        return body


class LiveSnapshots:
    def __init__(self, max_age: float = 0.5, clock: Callable[[], float] = time.monotonic,
                 oee_max_age: float | None = None) -> None:
        self.max_age = max_age
        self.oee_max_age = max(max_age, OEE_MAX_AGE) if oee_max_age is None else max(max_age, oee_max_age)
        self._clock = clock
        self._snapshots: dict[tuple[UUID, UUID], Snapshot] = {}
        self._locks: dict[tuple[UUID, UUID], threading.Lock] = {}
        self._guard = threading.Lock()
        self._read: dict[tuple[UUID, UUID], float] = {}  # when each site's live view was last read (clock)
        self._read_oee: dict[tuple[UUID, UUID], float] = {}  # when its running shift's OEE was last read
        # Bumped by `forget`: a snapshot computed from data read before a forget is served to the one
        # reader that asked for it but never stored, so no later reader gets what the change replaced.
        self._generation: dict[UUID, int] = {}
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()
        self.computed = 0  # snapshots made so far (tests and benchmarks read it)
        self.renewed = 0  # of those, made by the background renewer

    def start(self, engine: Engine) -> None:
        """Renew the snapshots being read in a background thread of this process, in transactions
        of its own on `engine` (company set, no user and no site scope: a snapshot holds the whole
        site, and each reader's scope is applied here on the way out)."""
        if self.max_age <= 0 or self._renewer is not None:
            return
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, args=(engine,), name="live-snapshots",
                                         daemon=True)
        self._renewer.start()

    def stop(self) -> None:
        if self._renewer is not None:
            self._stop.set()
            self._renewer.join(timeout=10)
            self._renewer = None

    def get(self, conn: Connection, tenant_id: UUID, site_id: UUID, now: Callable[[], datetime]) -> Snapshot:
        """The site's snapshot, computed in `conn` (the caller's tenant transaction) when stale."""
        snap = self._get(conn, tenant_id, site_id, now, self.max_age, self._read, unshared=True)
        assert snap is not None
        return snap

    def for_oee(self, conn: Connection, tenant_id: UUID, site_id: UUID,
                now: Callable[[], datetime]) -> Snapshot | None:
        """The site's snapshot for its running shift's OEE: at most `oee_max_age` old (twice that
        while the renewer renews it). None for a reader limited to some machines when no shared
        one is fresh: computing the OEE alone costs them less than a snapshot of their own."""
        return self._get(conn, tenant_id, site_id, now, self.oee_max_age, self._read_oee, unshared=False)

    def _get(self, conn: Connection, tenant_id: UUID, site_id: UUID, now: Callable[[], datetime], max_age: float,
             reads: dict[tuple[UUID, UUID], float], unshared: bool) -> Snapshot | None:
        scope, certified = current_scopes(conn)
        if scope is not None and site_id not in scope:
            raise NotFound(f"site {site_id} not found", code="site_not_found")
        key = (tenant_id, site_id)
        reads[key] = self._clock()  # keeps the background renewer on this site
        if certified is not None:  # limited to the machines they are certified for (0025)
            shared = self._fresh(key, 2 * max_age)
            if shared is not None:
                return shared.only(certified)
            if not unshared:
                return None
            # Computed under their limit it would hold only their machines: not shared.
            view, oee = site_live(conn, tenant_id, site_id, now())
            return Snapshot(view, self._clock(), oee)
        # With the renewer running, the last snapshot serves while it is renewed off the request path.
        snap = self._fresh(key, 2 * max_age if self._renewer is not None else max_age)
        if snap is not None:
            return snap
        lock = self._lock(key)
        if not lock.acquire(blocking=False):
            # Another reader is renewing it: the previous snapshot will do if not too old.
            snap = self._fresh(key, 2 * max_age)
            if snap is not None:
                return snap
            lock.acquire()  # none fit to serve: wait for the renewal
        try:
            snap = self._fresh(key, max_age)
            if snap is None:
                generation = self._generation.get(tenant_id, 0)
                view, oee = site_live(conn, tenant_id, site_id, now())
                snap = Snapshot(view, self._clock(), oee)
                self._store(key, snap, generation)
            return snap
        finally:
            lock.release()

    def _renew_loop(self, engine: Engine) -> None:
        # Renewed when three quarters old, checked four times per period: a snapshot is served at
        # most about `max_age` (`oee_max_age` when only its OEE is read) plus one renewal's
        # duration after it was made.
        while not self._stop.wait(self.max_age / 4):
            now = self._clock()
            live, oee = list(self._read.items()), list(self._read_oee.items())
            wanted: dict[tuple[UUID, UUID], float] = {}  # site → the age its readers want it renewed at
            for reads, max_age in ((oee, self.oee_max_age), (live, self.max_age)):
                for key, read in reads:
                    if now - read <= _RENEW_WHILE_READ:
                        wanted[key] = max_age
            for key in {k for k, _ in live + oee} - wanted.keys():
                self._read.pop(key, None)
                self._read_oee.pop(key, None)
            for key, max_age in wanted.items():
                if self._stop.is_set():
                    return
                if self._fresh(key, 0.75 * max_age) is None and key in self._snapshots:
                    self._renew(engine, key)

    def _renew(self, engine: Engine, key: tuple[UUID, UUID]) -> None:
        lock = self._lock(key)
        if not lock.acquire(blocking=False):
            return  # a reader is computing it (cold or forgotten): that will do
        try:
            tenant_id, site_id = key
            generation = self._generation.get(tenant_id, 0)
            with tenant_transaction(engine, tenant_id) as conn:
                view, oee = site_live(conn, tenant_id, site_id, datetime.now(UTC))
            if self._store(key, Snapshot(view, self._clock(), oee), generation):
                self.renewed += 1
        except NotFound:  # the site is gone: stop renewing it
            self._read.pop(key, None)
            self._read_oee.pop(key, None)
        except Exception:  # the database away for a moment: readers compute it, the next round retries
            log.warning("renewing the live snapshot of site %s failed", key[1], exc_info=True)
        finally:
            lock.release()

    def _lock(self, key: tuple[UUID, UUID]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _store(self, key: tuple[UUID, UUID], snap: Snapshot, generation: int) -> bool:
        """Keep `snap` unless its company was forgotten since its computation began (False)."""
        self.computed += 1
        with self._guard:
            if self._generation.get(key[0], 0) != generation:
                return False
            self._snapshots[key] = snap
            self._forget_old(snap.made)
            return True

    def forget(self, tenant_id: UUID) -> None:
        """Drop a company's snapshots after a committed change readers must see at once (a connection
        saved, a counter anomaly decided); the next reader computes afresh, and a computation already
        under way (it may have read the data before the change) is not kept."""
        with self._guard:
            self._generation[tenant_id] = self._generation.get(tenant_id, 0) + 1
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
        for reads in (self._read, self._read_oee):
            for k in [k for k, read in list(reads.items()) if now - read > _FORGET_AFTER]:  # readers add meanwhile
                reads.pop(k, None)
