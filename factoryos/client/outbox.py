"""Operator entries that survive a server outage: send now, or queue and send later in order.

While anything is queued, new entries join the back of the queue so the server sees
them in the order they were made. A call that never left the terminal (no connection)
is stamped with the time it was made, capped at the end of the shift the operator chose,
before it is queued: sent later, it lands in that shift, not in the one running then. One
that may have reached the server is queued unchanged, because its Idempotency-Key must
match the same body.

A queued call the server refuses (a 4xx answer) is parked as *failed* for the operator to
fix, resend or discard; anything else (no answer, 5xx, 408, 429) keeps it queued for retry.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from factoryos.client.errors import ClientError, ServerUnreachable, SessionEnded
from factoryos.client.queue import OfflineQueue, Pending, new_key
from factoryos.client.transport import Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stamp:
    """A time field the server would fill with its "now": filled at typing time if the call must wait."""

    field: str
    not_after: datetime | None = None  # the chosen shift's end: a late send never leaves that shift

    def value(self) -> str:
        now = datetime.now(UTC)
        return (now if self.not_after is None else min(now, self.not_after)).isoformat()


@dataclass(frozen=True)
class Outcome:
    queued: bool
    response: Any = None
    reason: str | None = None
    unreachable: bool = False  # queued because the server did not answer


@dataclass
class DrainReport:
    sent: int = 0
    refused: list[tuple[Pending, ClientError]] = field(default_factory=list)
    remaining: int = 0
    stopped_by: ClientError | None = None


class Outbox:
    def __init__(self, transport: Transport, queue: OfflineQueue) -> None:
        self.transport = transport
        self.queue = queue
        self._drain_lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self.queue)

    def failed(self) -> list[Pending]:
        return self.queue.failed()

    def failed_count(self) -> int:
        return self.queue.failed_count()

    async def submit(
        self, method: str, path: str, body: dict[str, Any] | None, label: str, *, stamp: Stamp | None = None,
        meta: dict[str, Any] | None = None, replaces: Pending | None = None,
    ) -> Outcome:
        """Send now when the queue is empty and the server answers; queue otherwise.

        A refusal (4xx) raises ClientError at once: the operator fixes it while it is fresh.
        `stamp` names the body's time field to fill if the call has to wait; `meta` is kept
        with a queued call for showing and fixing it. `replaces` is the failed call this one
        fixes: it leaves the failed list once the fix is saved or queued.
        """
        outcome = await self._submit(method, path, body, label, stamp, meta)
        if replaces is not None:
            self.queue.discard(replaces)
        return outcome

    async def _submit(self, method: str, path: str, body: dict[str, Any] | None, label: str, stamp: Stamp | None,
                      meta: dict[str, Any] | None) -> Outcome:
        if len(self.queue):
            self.queue.put(method, path, _stamped(body, stamp), label, meta=meta)
            return Outcome(queued=True, reason="earlier entries are still waiting")
        key = new_key()
        try:
            response = await self.transport.call(method, path, json=body, idempotency_key=key)
        except SessionEnded:
            raise
        except ServerUnreachable as exc:
            kept = body if exc.maybe_received else _stamped(body, stamp)
            self.queue.put(method, path, kept, label, key=key, meta=meta)
            return Outcome(queued=True, reason=exc.reason, unreachable=True)
        except ClientError as exc:
            if not exc.transient:
                raise
            self.queue.put(method, path, body, label, key=key, meta=meta)
            return Outcome(queued=True, reason=exc.detail, unreachable=True)
        return Outcome(queued=False, response=response.json() if response.content else None)

    async def drain(self) -> DrainReport:
        """Send waiting calls oldest first; stop at the first one the server cannot take yet."""
        report = DrainReport()
        async with self._drain_lock:
            for item in self.queue.items():
                try:
                    await self.transport.call(item.method, item.path, json=item.body, idempotency_key=item.key)
                except SessionEnded as exc:
                    report.stopped_by = exc
                    break
                except ClientError as exc:
                    if not refused(exc):
                        report.stopped_by = exc
                        break
                    log.warning("server refused queued %s (%s): %s", item.label, item.key, exc)
                    self.queue.reject(item, problem_of(exc))
                    report.refused.append((item, exc))
                    continue
                self.queue.remove(item)
                report.sent += 1
            report.remaining = len(self.queue)
        return report

    async def resend(self, item: Pending) -> Outcome:
        """Send a failed call again as it is (same key and body), e.g. after a supervisor fixed the plant data.

        Saved: it leaves the failed list. Refused again: it stays, with the new reason (raises
        ClientError). No answer: it goes back to the queue for the next drain.
        """
        async with self._drain_lock:
            try:
                response = await self.transport.call(item.method, item.path, json=item.body,
                                                     idempotency_key=item.key)
            except SessionEnded:
                raise
            except ClientError as exc:
                if refused(exc):
                    self.queue.reject(item, problem_of(exc))
                    raise
                self.queue.requeue(item)
                return Outcome(queued=True, reason=exc.detail, unreachable=True)
            self.queue.discard(item)
            return Outcome(queued=False, response=response.json() if response.content else None)

    def discard(self, item: Pending) -> None:
        self.queue.discard(item)


def refused(exc: ClientError) -> bool:
    """The server answered and will not take this call as it is: only the operator can fix it.

    Timeouts and rate limits (408, 429) and server errors say nothing about the entry."""
    return exc.status is not None and 400 <= exc.status < 500 and exc.status not in (408, 429)


def problem_of(exc: ClientError) -> dict[str, Any]:
    return {"code": exc.code, "detail": exc.detail, "field": exc.field, "status": exc.status,
            "extra": exc.extra or None, "at": datetime.now(UTC).isoformat()}


def _stamped(body: dict[str, Any] | None, stamp: Stamp | None) -> dict[str, Any] | None:
    if body is None or stamp is None or body.get(stamp.field) is not None:
        return body
    return {**body, stamp.field: stamp.value()}
