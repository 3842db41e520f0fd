"""`GET /metrics`: the server's figures in the Prometheus text format (prometheus_client).

Off unless `FACTORYOS_METRICS_TOKEN` is set; then Prometheus sends it as a bearer token
(`authorization: {credentials_file: ...}` in its scrape config). A static token rather than a
user's session: a scraper cannot sign in and rotate refresh tokens, and the figures cover every
company on the server (machine ids, request rates), which no single company's member should
read. Requests are counted by route template (`/api/v1/orders/{order_id:uuid}`), never by raw
path, so ids do not become label values.

Several worker processes (`factoryos serve --workers N`): the supervisor sets
`PROMETHEUS_MULTIPROC_DIR` (see `server.metrics_setup`), each worker writes its figures to files
there, and whichever worker answers a scrape adds them up (prometheus_client's multiprocess
mode): counters and histograms are summed over every worker that ran since the start, pool
gauges over the live workers, and the poller's figures come from the worker that polls. Ages
are computed at scrape time from the stored instants (`…_timestamp_seconds` → `…_age_seconds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from factoryos.audit.anchors import ANCHOR_FILE
from factoryos.background import running
from factoryos.integrations.delivery import Outcome
from server.metrics_setup import MULTIPROC_ENV
from server.problem import problem
from server.state import ServerState

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 15.0
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("factoryos_http_requests", "HTTP requests answered, by route template and status.",
                   ["method", "route", "status"])
LATENCY = Histogram("factoryos_http_request_duration_seconds", "Time to the response's first byte.",
                    ["method", "route", "status"], buckets=_BUCKETS)
POOL = Gauge("factoryos_db_pool_connections", "Database connections of the request pool (summed over workers).",
             ["state"], multiprocess_mode="livesum")
POLLER_LAST_READ = Gauge("factoryos_poller_last_read_timestamp_seconds", "When a machine last answered a read.",
                         ["company", "machine", "protocol"], multiprocess_mode="livemostrecent")
POLLER_UP = Gauge("factoryos_poller_machine_up", "1 while a machine's reads succeed, 0 while they fail.",
                  ["company", "machine", "protocol"], multiprocess_mode="livemostrecent")
POLLER_ERRORS = Counter("factoryos_poller_read_errors", "Failed reads of a machine.", ["company", "machine"])
POLLS = Counter("factoryos_poller_polls", "Polls started, on time or late (later than the poller's late_after).",
                ["timing"])
SPOOL = Gauge("factoryos_poller_spool_events", "Machine events waiting in the poller's spool for the database.",
              multiprocess_mode="livesum")
INGEST = Counter("factoryos_ingest_events", "Machine events (counts, states, health) stored in the database.")
WEBHOOKS = Counter("factoryos_webhook_deliveries", "Webhook delivery attempts by result (success or failure).",
                   ["result"])
BACKUP_AT = Gauge("factoryos_backup_last_success_timestamp_seconds", "When the newest backup was taken.",
                  multiprocess_mode="max")
LICENSE_DAYS = Gauge("factoryos_license_days_left", "Days until the license in force expires (absent under evaluation).",
                     multiprocess_mode="min")
REPLICATION_LAG = Gauge("factoryos_replication_lag_seconds",
                        "Replay lag of each standby of this server's database (on a standby: standby=\"self\").",
                        ["standby"], multiprocess_mode="livemax")
REPLICATION_LAG_BYTES = Gauge("factoryos_replication_lag_bytes", "WAL not yet replayed by each standby.",
                              ["standby"], multiprocess_mode="livemax")
ANCHOR_AT = Gauge("factoryos_audit_anchor_last_timestamp_seconds",
                  "When audit chain heads were last signed into the anchor file.", multiprocess_mode="max")


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


# -- requests -------------------------------------------------------------------------------


# The children of both metrics by (method, route template, status), looked up once each: a label
# lookup takes the metric's lock and builds its key. Bounded by the routes, methods and statuses.
_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count and time one answered HTTP request by its route template (`server.request_stack`)."""
    route = scope.get("route")
    key = (scope.get("method", ""), getattr(route, "path", None) or "unmatched", status)
    children = _REQUEST_CHILDREN.get(key)
    if children is None:
        labels = (key[0], key[1], str(status))
        children = _REQUEST_CHILDREN[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
    children[0].inc()
    children[1].observe(seconds)


# -- webhooks -------------------------------------------------------------------------------


def observe_webhook(outcome: Outcome) -> None:
    WEBHOOKS.labels("success" if outcome.ok else "failure").inc()


# -- sampled figures ------------------------------------------------------------------------


class Sampler:
    """Copies what this process knows (its pool, its poller, backups, anchors) into the metrics."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self._errors: dict[tuple[str, str], int] = {}
        self._ingested = 0
        self._polls = (0, 0)  # (on time, late) counted so far
        self._machines: set[tuple[str, str, str]] = set()
        self._standbys: set[str] = set()

    def sample(self) -> None:
        self.sample_live()
        self.sample_files()

    def sample_live(self) -> None:
        """Pool and poller: in the event loop's thread, where the poller changes its machines."""
        for part in (self._pool, self._poller, self._license):
            try:
                part()
            except Exception as exc:  # a figure that cannot be read now is read next time
                log.debug("metrics: %s failed: %s", part.__name__, exc)

    def sample_files(self) -> None:
        """Backups, anchors and replication: files on disk and a superuser query, in a worker thread."""
        for part in (self._backup, self._anchor, self._replication):
            try:
                part()
            except Exception as exc:
                log.debug("metrics: %s failed: %s", part.__name__, exc)

    def _pool(self) -> None:
        engine = getattr(self.state, "engine", None)
        pool = getattr(engine, "pool", None)
        if pool is None or not hasattr(pool, "checkedout"):
            return
        POOL.labels("in_use").set(pool.checkedout())
        POOL.labels("idle").set(pool.checkedin())
        POOL.labels("size").set(pool.size())
        POOL.labels("overflow").set(max(0, pool.overflow()))

    def _poller(self) -> None:
        runtime = self.state.poller
        if runtime is None:
            return
        seen = set()
        for s in runtime.statuses():
            company, _, machine = s.machine_id.partition("/")
            labels = (company, machine, s.protocol)
            seen.add(labels)
            if s.last_ok is not None:
                POLLER_LAST_READ.labels(*labels).set(s.last_ok.timestamp())
            POLLER_UP.labels(*labels).set(1 if s.error_code is None and s.last_ok is not None else 0)
            before = self._errors.get((company, machine), 0)
            if s.read_errors > before:
                POLLER_ERRORS.labels(company, machine).inc(s.read_errors - before)
            self._errors[(company, machine)] = s.read_errors
        for gone in self._machines - seen:
            with contextlib.suppress(KeyError):
                POLLER_LAST_READ.remove(*gone)
                POLLER_UP.remove(*gone)
        self._machines = seen
        timing = getattr(runtime.poller, "timing", None)
        if timing is not None:
            on_time, late = timing.polls - timing.late, timing.late
            if on_time > self._polls[0]:
                POLLS.labels("on_time").inc(on_time - self._polls[0])
            if late > self._polls[1]:
                POLLS.labels("late").inc(late - self._polls[1])
            self._polls = (on_time, late)
        forwarder = getattr(runtime, "forwarder", None)
        if forwarder is not None:
            SPOOL.set(forwarder.pending)
            if forwarder.delivered > self._ingested:
                INGEST.inc(forwarder.delivered - self._ingested)
            self._ingested = forwarder.delivered

    def _license(self) -> None:
        state = self.state.license
        document = state.in_force() if state is not None else None
        if document is not None:
            LICENSE_DAYS.set(document.days_left(dt.datetime.now(dt.UTC)))

    def _backup(self) -> None:
        backups = self.state.backups
        if backups is None:
            return
        latest = backups.latest()  # an unreadable folder raises: health reports it, the last figure stays
        if latest is not None:
            BACKUP_AT.set(latest.created_at.timestamp())

    def _replication(self) -> None:
        backups = self.state.backups
        status = backups.replication(self.state.settings.rpo_seconds) if backups is not None else None
        lags: dict[str, tuple[float | None, int | None]] = {}
        if status is not None and status.role == "standby":
            lags["self"] = (status.lag_seconds, status.lag_bytes)
        elif status is not None:
            lags = {s.name: (s.lag_seconds, s.lag_bytes) for s in status.standbys}
        for name, (seconds, size) in lags.items():
            # Unknown (a standby away) is absent, not 0: an alert on absence or on the value both work.
            for gauge, value in ((REPLICATION_LAG, seconds), (REPLICATION_LAG_BYTES, size)):
                if value is None:
                    with contextlib.suppress(KeyError):
                        gauge.remove(name)
                else:
                    gauge.labels(name).set(value)
        for gone in self._standbys - set(lags):
            for gauge in (REPLICATION_LAG, REPLICATION_LAG_BYTES):
                with contextlib.suppress(KeyError):
                    gauge.remove(gone)
        self._standbys = set(lags)

    def _anchor(self) -> None:
        if self.state.anchorer is None:
            return
        path = Path(self.state.settings.data_dir) / ANCHOR_FILE
        with contextlib.suppress(OSError):
            ANCHOR_AT.set(path.stat().st_mtime)


@asynccontextmanager
async def sampling(state: ServerState, interval: float = SAMPLE_SECONDS) -> AsyncIterator[Sampler]:
    """Sample every `interval` s while the server runs (a scrape also samples first)."""
    sampler = Sampler(state)

    async def forever() -> None:
        while True:
            sampler.sample_live()
            await asyncio.to_thread(sampler.sample_files)
            await asyncio.sleep(interval)

    state.metrics_sampler = sampler
    try:
        async with running(forever(), "metrics sampling"):
            yield sampler
    finally:
        if multiprocess_mode():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # drops this worker's live gauges


# -- the endpoint ---------------------------------------------------------------------------


def _with_ages(families: Iterable[Metric], now: float) -> list[Metric]:
    """Each `…_timestamp_seconds` gauge also as `…_age_seconds`, computed now."""
    out = list(families)
    for family in list(out):
        if not family.name.endswith("_timestamp_seconds"):
            continue
        name = family.name.removesuffix("_timestamp_seconds") + "_age_seconds"
        ages = GaugeMetricFamily(name, f"Seconds since: {family.documentation}", labels=None)
        for sample in family.samples:
            if sample.value > 0:
                ages.add_sample(name, sample.labels, max(0.0, now - sample.value))
        out.append(ages)
    return out


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def render() -> bytes:
    if multiprocess_mode():
        registry: Any = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    return generate_latest(_Families(_with_ages(registry.collect(), time.time())))


def _authorized(request: Request, token: str) -> str | None:
    """None when the bearer token matches, else the error code."""
    header = request.headers.get("authorization", "")
    scheme, _, offered = header.partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        return "missing_token"
    if not hmac.compare_digest(offered.strip().encode(), token.encode()):
        return "invalid_token"
    return None


async def metrics_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state
    request_id = request.scope.get("state", {}).get("request_id")
    token = state.settings.metrics_token
    if token is None or not token.get_secret_value():
        return problem(404, "metrics_disabled", "Metrics are off",
                       "set FACTORYOS_METRICS_TOKEN on the server to turn /metrics on", request_id=request_id,
                       instance=request.url.path)
    refused = _authorized(request, token.get_secret_value())
    if refused is not None:
        return problem(401, refused, "Unauthorized", "send the metrics token as `Authorization: Bearer <token>`",
                       request_id=request_id, instance=request.url.path,
                       headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    sampler: Sampler | None = getattr(state, "metrics_sampler", None)
    if sampler is not None:
        sampler.sample_live()
        await asyncio.to_thread(sampler.sample_files)
    body = await asyncio.to_thread(render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def metrics_route() -> Route:
    return Route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
