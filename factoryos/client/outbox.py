"""Operator entries that survive a server outage: send now, or queue and send later in order.

While anything is queued, new entries join the back of the queue so the server sees
them in the order they were made. A call that never left the terminal (no connection)
is stamped with the time it was made before it is queued; one that may have reached the
server is queued unchanged, because its Idempotency-Key must match the same body.
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

    async def submit(
        self, method: str, path: str, body: dict[str, Any] | None, label: str, *, stamp: str | None = None
    ) -> Outcome:
        """Send now when the queue is empty and the server answers; queue otherwise.

        A refusal (4xx) raises ClientError at once: the operator fixes it while it is fresh.
        `stamp` names the body's time field to fill with now if the call has to wait.
        """
        if len(self.queue):
            self.queue.put(method, path, _stamped(body, stamp), label)
            return Outcome(queued=True, reason="earlier entries are still waiting")
        key = new_key()
        try:
            response = await self.transport.call(method, path, json=body, idempotency_key=key)
        except SessionEnded:
            raise
        except ServerUnreachable as exc:
            kept = body if exc.maybe_received else _stamped(body, stamp)
            self.queue.put(method, path, kept, label, key=key)
            return Outcome(queued=True, reason=exc.reason, unreachable=True)
        except ClientError as exc:
            if not exc.transient:
                raise
            self.queue.put(method, path, body, label, key=key)
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
                    if exc.transient:
                        report.stopped_by = exc
                        break
                    log.warning("server refused queued %s (%s): %s", item.label, item.key, exc)
                    self.queue.reject(item, {"code": exc.code, "detail": exc.detail, "field": exc.field})
                    report.refused.append((item, exc))
                    continue
                self.queue.remove(item)
                report.sent += 1
            report.remaining = len(self.queue)
        return report


def _stamped(body: dict[str, Any] | None, stamp: str | None) -> dict[str, Any] | None:
    if body is None or stamp is None or body.get(stamp) is not None:
        return body
    return {**body, stamp: datetime.now(UTC).isoformat()}
