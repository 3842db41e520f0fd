"""The webhook delivery worker: sends due deliveries, retries with backoff, disables dead endpoints.

It runs inside the server (one process of several: the one with the duties) and reads each
company's due deliveries in that company's tenant transaction, like the poller. A delivery is
claimed by pushing its due time one lease ahead and committing, then sent outside any
transaction; the outcome is written afterwards. A process that dies between the two leaves the
delivery due again when the lease runs out: deliveries are at-least-once, and the event id in
`webhook-id` lets the receiver drop a repeat.

Sends do not wait for each other. A pass claims each company's due deliveries (a short transaction)
and starts each send as a task of its own; an outcome is written as soon as it is known (those known
together in one short transaction per company), and the next pass runs on its interval while slow
sends still run. So a receiver that never answers holds its own deliveries for the client timeout,
not other endpoints' or other companies'. A pass claims only what it can start at once, so nothing
claimed waits for a slot: at most `per_endpoint` sends of one endpoint and `per_company` of one
company, and `in_flight` shared by all companies beyond each one's first send.

Fairness (a plant expects a healthy company's webhook within about a second, whatever other
companies' receivers do): a company with nothing in flight may always start one send, even when
dead receivers of others hold every shared slot (so at most `in_flight` plus one per company run at
once); and an endpoint whose last attempt failed or timed out (`consecutive_failures` > 0) is sent
one delivery at a time, a probe, until one succeeds: a dead receiver holds one slot, not eight.
Deliveries left unclaimed by these bounds stay due as they were (attempts and next_attempt_at are
untouched) and are claimed by a later pass. The lease (at least twice the client timeout) outlasts
any send, so a delivery in flight is never claimed again; a send cancelled at shutdown leaves its
delivery claimed until the lease runs out, then due again.

A pass first asks every company with endpoints how many deliveries it has due, in one transaction
and one round trip (the tenant switched before each company's question: RLS as for a request); only
the companies with some due get a claim transaction of their own.

Retries wait `base × 2^(attempt-1)` seconds (±10 % jitter so that many endpoints failing together do
not retry in step), at most `cap`; after `max_attempts`, or once the next try would fall later than
`give_up_after` from the event, the delivery is `failed`: the dead-letter list an admin can replay.
An endpoint whose last `disable_after` attempts all failed is disabled (and audited) so a receiver
gone for good does not collect retries forever; enabling it again resets the count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import Connection, Engine, text

from factoryos import __version__
from factoryos.audit.writer import AuditEvent, record
from factoryos.db.driver import compact
from factoryos.db.tenant import ask_each_company, tenant_transaction
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


# Due deliveries of one company, oldest first, leaving out what would put an endpoint over its share
# of sends at once (`busy`: its sends still in flight): `per_endpoint`, or one (a probe) while its
# last attempt stands failed. An admin's test event goes before the backlog: after fixing a receiver
# they test it, and its success ends the probing.
_CLAIM = text("""
    update webhook_deliveries d
    set next_attempt_at = now() + make_interval(secs => :lease), attempts = d.attempts + 1, last_attempt_at = now()
    from (
      select x.id from webhook_deliveries x
      join (
        select r.id, r.ping from (
          select y.id, y.endpoint_id, ev.event_type = :test as ping,
                 row_number() over (partition by y.endpoint_id
                                    order by ev.event_type = :test desc, y.next_attempt_at, y.id) as n,
                 case when e.consecutive_failures > 0 then 1 else :per_endpoint end as bound
          from webhook_deliveries y
          join webhook_endpoints e on e.tenant_id = y.tenant_id and e.id = y.endpoint_id
          join webhook_events ev on ev.tenant_id = y.tenant_id and ev.id = y.event_id
          where y.tenant_id = :tenant and y.status = 'pending' and y.next_attempt_at <= now()
            and (e.enabled or ev.event_type = :test)
        ) r
        left join unnest(cast(:busy_ids as uuid[]), cast(:busy_counts as integer[])) as b(id, n)
          on b.id = r.endpoint_id
        where r.n + coalesce(b.n, 0) <= r.bound
      ) ok on ok.id = x.id
      where x.tenant_id = :tenant and x.status = 'pending' and x.next_attempt_at <= now()
      order by ok.ping desc, x.next_attempt_at
      limit :limit
      for update of x skip locked
    ) due
    where d.tenant_id = :tenant and d.id = due.id
    returning d.id, d.endpoint_id, d.event_id, d.attempts, d.created_at
""")
# psycopg parameters, asked of every company in one round trip: its count of claimable due deliveries
# (up to `cap`: enough to tell whether a claim left some).
_DUE = compact("""
    select count(*) as n from (
      select 1 from webhook_deliveries d
      join webhook_endpoints e on e.tenant_id = d.tenant_id and e.id = d.endpoint_id
      join webhook_events ev on ev.tenant_id = d.tenant_id and ev.id = d.event_id
      where d.tenant_id = %(t)s and d.status = 'pending' and d.next_attempt_at <= now()
        and (e.enabled or ev.event_type = %(test)s)
      limit %(cap)s
    ) due
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


_COMPANIES = text("select * from webhook_companies()")


def companies(engine: Engine) -> list[UUID]:
    with engine.connect() as conn:
        return list(conn.execute(_COMPANIES).scalars())


def due_counts(engine: Engine, cap: int) -> list[tuple[UUID, int]]:
    """The companies with deliveries due now, in directory order, each with how many (at most `cap`)."""
    with engine.begin() as conn:
        ids = list(conn.execute(_COMPANIES).scalars())
        if not ids:
            return []
        answers = ask_each_company(conn, ids, _DUE, lambda t: {"t": t, "test": TEST_EVENT, "cap": cap})
    return [(tenant_id, n) for tenant_id, answer in zip(ids, answers, strict=True) if (n := answer[0]["n"])]


class WebhookWorker:
    """`run_forever` in the server; `run_once` (passes until nothing due is left, waiting for their
    sends) for tests and drills."""

    def __init__(self, engine: Engine, keys: DerivedKeys, *, policy: RetryPolicy | None = None,
                 interval: float = 1.0, timeout: float = 10.0, lease: float = 120.0, keep_days: int = 30,
                 in_flight: int = 128, per_company: int = 32, per_endpoint: int = 8,
                 observe: Callable[[Outcome], None] | None = None) -> None:
        self.engine = engine
        self.keys = keys
        self.policy = policy or RetryPolicy()
        self.interval = interval
        self.timeout = timeout
        self.lease = max(lease, timeout * 2)  # never due again while its attempt may still be running
        self.keep_days = keep_days
        self.in_flight = in_flight
        self.per_company = min(per_company, in_flight)
        self.per_endpoint = min(per_endpoint, self.per_company)
        self.observe = observe
        self.last_pass: datetime | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._busy = 0
        self._busy_companies: Counter[UUID] = Counter()
        self._busy_endpoints: Counter[UUID] = Counter()
        self._freed = asyncio.Event()  # a send ended (its outcome written): room for the next claim
        self._passing = asyncio.Lock()
        self._unwritten: list[tuple[Outcome, asyncio.Future[Exception | None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._turn = 0

    async def run_forever(self) -> None:
        pruned: datetime | None = None
        async with self._client() as client:
            try:
                while True:
                    more = False
                    try:
                        _, more = await self._pass(client)
                        now = datetime.now(UTC)
                        if pruned is None or now - pruned > timedelta(hours=1):
                            await asyncio.to_thread(self._prune_all)
                            pruned = now
                    except Exception as exc:  # database away or being restored: the next pass catches up
                        log.warning("webhook deliveries: %s", type(exc).__name__)
                    await self._pause(more)
            finally:
                await self._cancel_sends()

    async def _pause(self, more: bool) -> None:
        """The interval; with `more` (a claim was cut short by the bounds) only until a send ends."""
        if not more:
            await asyncio.sleep(self.interval)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._freed.wait(), self.interval)

    async def _cancel_sends(self) -> None:
        """Stop the sends still running and the writer (their deliveries are due again when the lease
        runs out)."""
        tasks = [*self._sends, *([self._writer] if self._writer else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._unwritten.clear()

    def _client(self) -> httpx.AsyncClient:
        # No redirects: a receiver that moved must be edited, not followed to wherever it points.
        # No bound on connections: the worker's own bounds keep sends in check, so none waits for the
        # pool (and its timeout).
        return httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                 limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
                                 headers={"user-agent": f"FactoryOS-Webhooks/{__version__}"})

    async def run_once(self, client: httpx.AsyncClient | None = None) -> int:
        """Send everything due now and write the outcomes; returns the attempts made."""
        if client is None:
            async with self._client() as own:
                return await self.run_once(own)
        made: list[asyncio.Task[None]] = []
        while True:
            started, more = await self._pass(client)
            made.extend(started)
            if not more or not (self._sends or self._freed.is_set()):
                break  # nothing in flight and none ended since the pass began: what is left is another's claim
            await self._freed.wait()  # cleared as the pass began: set once a send of ours ended since
        await asyncio.gather(*made)
        return len(made)

    async def _pass(self, client: httpx.AsyncClient) -> tuple[list[asyncio.Task[None]], bool]:
        """Claim what is due of every company, as far as the bounds leave room, and start sending it;
        returns the sends started and whether the bounds left some due unclaimed."""
        async with self._passing:
            started: list[asyncio.Task[None]] = []
            more = False
            self._freed.clear()
            due = await asyncio.to_thread(due_counts, self.engine, self.per_company + 1)
            if due:  # a different company first each pass: none is always last when slots run out
                first = self._turn % len(due)
                due = due[first:] + due[:first]
                self._turn += 1
            for tenant_id, count in due:
                room = self._room(tenant_id)
                if room > 0:
                    jobs = await asyncio.to_thread(self._claim, tenant_id, room, dict(self._busy_endpoints))
                    started.extend(self._start(client, job) for job in jobs)
                    count -= len(jobs)
                more = more or count > 0
            self.last_pass = datetime.now(UTC)
            return started, more

    def _room(self, tenant_id: UUID) -> int:
        """How many more sends the company may start now: its first is its own, the rest come out of
        the shared `in_flight` (what the busy companies hold beyond their first)."""
        mine = self._busy_companies[tenant_id]
        shared_free = self.in_flight - (self._busy - len(self._busy_companies))
        return min(self.per_company - mine, shared_free + (1 if mine == 0 else 0))

    def _start(self, client: httpx.AsyncClient, job: Job) -> asyncio.Task[None]:
        self._busy += 1
        self._busy_companies[job.tenant_id] += 1
        self._busy_endpoints[job.endpoint_id] += 1
        task = asyncio.create_task(self._deliver(client, job), name=f"webhook delivery {job.delivery_id}")
        self._sends.add(task)
        task.add_done_callback(lambda done: self._release(done, job))
        return task

    def _release(self, task: asyncio.Task[None], job: Job) -> None:
        """A send ended (written, failed to write, or cancelled): its slots are free again."""
        self._sends.discard(task)
        self._busy -= 1
        for busy, key in ((self._busy_companies, job.tenant_id), (self._busy_endpoints, job.endpoint_id)):
            busy[key] -= 1
            if busy[key] <= 0:
                del busy[key]
        self._freed.set()

    async def _deliver(self, client: httpx.AsyncClient, job: Job) -> None:
        """Send one delivery and have its outcome written; if that fails it stays claimed until its
        lease runs out."""
        try:
            outcome = await self._send(client, job)
        except Exception as exc:  # not the receiver's answer, but this attempt failed all the same
            outcome = Outcome(job, False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
        written: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self._unwritten.append((outcome, written))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="webhook outcomes")
        if (error := await written) is not None:  # database away: due again when the lease runs out
            log.warning("webhook delivery %s: outcome not written: %s", job.delivery_id, type(error).__name__)

    async def _write(self) -> None:
        """Write the outcomes known so far, one transaction per company, until none is left: those that
        end while a write runs go in the next (one connection, however many sends end at once)."""
        while self._unwritten:
            batch, self._unwritten = self._unwritten, []
            try:
                failed = await asyncio.to_thread(self._record_all, [o for o, _ in batch])
            except Exception as exc:
                failed = {o.job.tenant_id: exc for o, _ in batch}
            for outcome, written in batch:
                if not written.done():  # its send was cancelled meanwhile
                    written.set_result(failed.get(outcome.job.tenant_id))

    def _record_all(self, outcomes: list[Outcome]) -> dict[UUID, Exception]:
        """Each company's outcomes in a transaction of its own; returns the companies whose write failed."""
        failed: dict[UUID, Exception] = {}
        by_company: dict[UUID, list[Outcome]] = {}
        for o in outcomes:
            by_company.setdefault(o.job.tenant_id, []).append(o)
        for tenant_id, mine in by_company.items():
            try:
                self._record(tenant_id, mine)
            except Exception as exc:
                failed[tenant_id] = exc
        return failed

    def _claim(self, tenant_id: UUID, limit: int, busy_endpoints: dict[UUID, int]) -> list[Job]:
        with tenant_transaction(self.engine, tenant_id) as conn:
            claimed = conn.execute(_CLAIM, {
                "tenant": tenant_id, "lease": self.lease, "limit": limit, "test": TEST_EVENT,
                "per_endpoint": self.per_endpoint, "busy_ids": list(busy_endpoints),
                "busy_counts": list(busy_endpoints.values())}).all()
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
