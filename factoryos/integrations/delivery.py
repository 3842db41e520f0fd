"""The webhook delivery worker: sends due deliveries, retries with backoff, disables dead endpoints.

It runs inside the server (one process of several: the one with the duties) and reads each
company's due deliveries in that company's tenant transaction, like the poller. A delivery is
claimed by pushing its due time one lease ahead and committing, then sent outside any
transaction; the outcome is written afterwards. A process that dies between the two leaves the
delivery due again when the lease runs out: deliveries are at-least-once, and the event id in
`webhook-id` lets the receiver drop a repeat.

Retries wait `base × 2^(attempt-1)` seconds (±10 % jitter so that many endpoints failing together do
not retry in step), at most `cap`; after `max_attempts`, or once the next try would fall later than
`give_up_after` from the event, the delivery is `failed`: the dead-letter list an admin can replay.
An endpoint whose last `disable_after` attempts all failed is disabled (and audited) so a receiver
gone for good does not collect retries forever; enabling it again resets the count.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import Connection, Engine, text

from factoryos import __version__
from factoryos.audit.writer import AuditEvent, record
from factoryos.db.tenant import tenant_transaction
from factoryos.errors import ConfigError
from factoryos.identity.keys import DerivedKeys
from factoryos.integrations.endpoints import decrypt_secret
from factoryos.integrations.signing import sign_headers
from factoryos.integrations.webhook_models import TEST_EVENT

log = logging.getLogger(__name__)

MAX_ERROR = 500  # characters of an error kept in the log


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 10.0
    cap: float = 3600.0
    max_attempts: int = 40
    give_up_after: timedelta = timedelta(hours=24)
    disable_after: int = 50  # consecutive failed attempts of one endpoint
    jitter: float = 0.1

    def delay(self, attempts: int) -> float:
        raw = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return raw * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class Job:
    tenant_id: UUID
    delivery_id: UUID
    endpoint_id: UUID
    event_id: UUID
    event_type: str
    url: str
    secrets: tuple[str, ...]  # the current one, and the previous one during a rotation's overlap; none: unreadable
    body: bytes
    attempts: int  # including this one
    created_at: datetime


@dataclass(frozen=True)
class Outcome:
    job: Job
    ok: bool
    status_code: int | None
    error: str | None


_CLAIM = text("""
    update webhook_deliveries d
    set next_attempt_at = now() + make_interval(secs => :lease), attempts = d.attempts + 1, last_attempt_at = now()
    from (
      select x.id from webhook_deliveries x
      join webhook_endpoints e on e.tenant_id = x.tenant_id and e.id = x.endpoint_id
      join webhook_events ev on ev.tenant_id = x.tenant_id and ev.id = x.event_id
      where x.tenant_id = :tenant and x.status = 'pending' and x.next_attempt_at <= now()
        and (e.enabled or ev.event_type = :test)
      order by x.next_attempt_at
      limit :limit
      for update of x skip locked
    ) due
    where d.tenant_id = :tenant and d.id = due.id
    returning d.id, d.endpoint_id, d.event_id, d.attempts, d.created_at
""")
_DETAILS = text("""
    select d.id, e.url, e.secret_encrypted, ev.event_type, ev.payload,
           case when e.previous_secret_until > now() then e.previous_secret_encrypted end as previous_secret
    from webhook_deliveries d
    join webhook_endpoints e on e.tenant_id = d.tenant_id and e.id = d.endpoint_id
    join webhook_events ev on ev.tenant_id = d.tenant_id and ev.id = d.event_id
    where d.tenant_id = :tenant and d.id = any(:ids)
""")
_DELIVERED = text("""
    update webhook_deliveries set status = 'delivered', delivered_at = now(), last_status_code = :code,
      last_error = null
    where tenant_id = :tenant and id = :id
""")
_RETRY = text("""
    update webhook_deliveries set next_attempt_at = now() + make_interval(secs => :delay), last_status_code = :code,
      last_error = :error
    where tenant_id = :tenant and id = :id
""")
_FAILED = text("""
    update webhook_deliveries set status = 'failed', last_status_code = :code, last_error = :error
    where tenant_id = :tenant and id = :id
""")
_ENDPOINT_OK = text("""
    update webhook_endpoints set consecutive_failures = 0
    where tenant_id = :tenant and id = :id and consecutive_failures <> 0
""")
_ENDPOINT_FAILED = text("""
    update webhook_endpoints set consecutive_failures = consecutive_failures + 1
    where tenant_id = :tenant and id = :id
    returning consecutive_failures, enabled, url, events, description
""")
_DISABLE = text("""
    update webhook_endpoints set enabled = false, disabled_reason = :reason, updated_at = now()
    where tenant_id = :tenant and id = :id
""")
_PRUNE = text("""
    delete from webhook_events ev
    where ev.tenant_id = :tenant and ev.created_at < now() - make_interval(days => :days)
      and not exists (select 1 from webhook_deliveries d
                      where d.tenant_id = ev.tenant_id and d.event_id = ev.id and d.status = 'pending')
""")


def companies(engine: Engine) -> list[UUID]:
    with engine.connect() as conn:
        return list(conn.execute(text("select * from webhook_companies()")).scalars())


class WebhookWorker:
    """`run_forever` in the server; `run_once` (one pass over every company) for tests and drills."""

    def __init__(self, engine: Engine, keys: DerivedKeys, *, policy: RetryPolicy | None = None,
                 interval: float = 1.0, timeout: float = 10.0, batch: int = 50, lease: float = 120.0,
                 keep_days: int = 30, observe: Callable[[Outcome], None] | None = None) -> None:
        self.engine = engine
        self.keys = keys
        self.policy = policy or RetryPolicy()
        self.interval = interval
        self.timeout = timeout
        self.batch = batch
        self.lease = max(lease, timeout * 2)  # never due again while its attempt may still be running
        self.keep_days = keep_days
        self.observe = observe
        self.last_pass: datetime | None = None

    async def run_forever(self) -> None:
        pruned: datetime | None = None
        async with self._client() as client:
            while True:
                try:
                    await self.run_once(client)
                    now = datetime.now(UTC)
                    if pruned is None or now - pruned > timedelta(hours=1):
                        await asyncio.to_thread(self._prune_all)
                        pruned = now
                except Exception as exc:  # database away or being restored: the next pass catches up
                    log.warning("webhook deliveries: %s", type(exc).__name__)
                await asyncio.sleep(self.interval)

    def _client(self) -> httpx.AsyncClient:
        # No redirects: a receiver that moved must be edited, not followed to wherever it points.
        return httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                 headers={"user-agent": f"FactoryOS-Webhooks/{__version__}"})

    async def run_once(self, client: httpx.AsyncClient | None = None) -> int:
        """Send everything due now, company by company; returns the attempts made."""
        if client is None:
            async with self._client() as own:
                return await self.run_once(own)
        made = 0
        for tenant_id in await asyncio.to_thread(companies, self.engine):
            jobs = await asyncio.to_thread(self._claim, tenant_id)
            if not jobs:
                continue
            outcomes = await asyncio.gather(*(self._send(client, job) for job in jobs))
            await asyncio.to_thread(self._record, tenant_id, outcomes)
            made += len(outcomes)
        self.last_pass = datetime.now(UTC)
        return made

    def _claim(self, tenant_id: UUID) -> list[Job]:
        with tenant_transaction(self.engine, tenant_id) as conn:
            claimed = conn.execute(_CLAIM, {"tenant": tenant_id, "lease": self.lease, "limit": self.batch,
                                            "test": TEST_EVENT}).all()
            if not claimed:
                return []
            details = {r.id: r for r in conn.execute(_DETAILS, {"tenant": tenant_id, "ids": [c.id for c in claimed]})}
        jobs = []
        for c in claimed:
            d = details[c.id]
            try:
                secrets = tuple(decrypt_secret(self.keys, s) for s in (d.secret_encrypted, d.previous_secret) if s)
            except ConfigError:
                secrets = ()
            body = json.dumps(d.payload, separators=(",", ":"), sort_keys=True).encode()
            jobs.append(Job(tenant_id, c.id, c.endpoint_id, c.event_id, d.event_type, d.url, secrets, body,
                            c.attempts, c.created_at))
        return jobs

    async def _send(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        if not job.secrets:
            return Outcome(job, False, None, "the endpoint's secret cannot be read with this server's key")
        headers = sign_headers(job.secrets, str(job.event_id), job.body) | {"content-type": "application/json"}
        try:
            r = await client.post(job.url, content=job.body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(job, False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR] or type(exc).__name__)
        if 200 <= r.status_code < 300:
            return Outcome(job, True, r.status_code, None)
        return Outcome(job, False, r.status_code, f"HTTP {r.status_code}: {r.text[:200]}"[:MAX_ERROR])

    def _record(self, tenant_id: UUID, outcomes: list[Outcome]) -> None:
        with tenant_transaction(self.engine, tenant_id) as conn:
            for o in outcomes:
                self._record_one(conn, o)
        if self.observe is not None:
            for o in outcomes:
                self.observe(o)

    def _record_one(self, conn: Connection, o: Outcome) -> None:
        job, p = o.job, self.policy
        ids = {"tenant": job.tenant_id, "id": job.delivery_id, "code": o.status_code}
        if o.ok:
            conn.execute(_DELIVERED, ids)
            conn.execute(_ENDPOINT_OK, {"tenant": job.tenant_id, "id": job.endpoint_id})
            return
        delay = p.delay(job.attempts)
        too_late = datetime.now(UTC) + timedelta(seconds=delay) > job.created_at + p.give_up_after
        if job.attempts >= p.max_attempts or too_late or job.event_type == TEST_EVENT:
            conn.execute(_FAILED, ids | {"error": o.error})  # a test event is tried once: its answer is the point
        else:
            conn.execute(_RETRY, ids | {"error": o.error, "delay": delay})
        row = conn.execute(_ENDPOINT_FAILED, {"tenant": job.tenant_id, "id": job.endpoint_id}).first()
        if row is not None and row.enabled and row.consecutive_failures >= p.disable_after:
            self._disable(conn, job, row, o)

    def _disable(self, conn: Connection, job: Job, row: Any, o: Outcome) -> None:
        reason = f"disabled after {row.consecutive_failures} failed attempts in a row; last: {o.error}"[:MAX_ERROR]
        conn.execute(_DISABLE, {"tenant": job.tenant_id, "id": job.endpoint_id, "reason": reason})
        view = {"id": str(job.endpoint_id), "url": row.url, "events": list(row.events), "description": row.description,
                "consecutive_failures": row.consecutive_failures}
        record(conn, AuditEvent(tenant_id=job.tenant_id, action="disable", entity_type="webhook_endpoint",
                                entity_id=str(job.endpoint_id), before=view | {"enabled": True},
                                after=view | {"enabled": False, "disabled_reason": reason}))
        log.warning("webhook endpoint %s of company %s disabled: %s", job.endpoint_id, job.tenant_id, reason)

    def _prune_all(self) -> None:
        for tenant_id in companies(self.engine):
            with tenant_transaction(self.engine, tenant_id) as conn:
                conn.execute(_PRUNE, {"tenant": tenant_id, "days": self.keep_days})
