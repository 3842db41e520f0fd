"""The webhook delivery worker as a task of the server's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import Engine

from factoryos.background import running
from factoryos.config import Settings
from factoryos.identity.keys import DerivedKeys
from factoryos.integrations.delivery import Outcome, RetryPolicy, WebhookWorker
from factoryos.keys import secret_key

log = logging.getLogger(__name__)


@asynccontextmanager
async def webhook_delivery(settings: Settings, engine: Engine, *, enabled: bool,
                           observe: Callable[[Outcome], None] | None = None) -> AsyncIterator[WebhookWorker | None]:
    """Deliver webhooks while the server runs; `enabled` in one server process only (the one
    with the duties), since every process would otherwise poll the same queue."""
    if not enabled:
        yield None
        return
    policy = RetryPolicy(base=settings.webhook_retry_seconds, disable_after=settings.webhook_disable_after)
    worker = WebhookWorker(engine, DerivedKeys.from_secret(secret_key(settings)), policy=policy,
                           interval=min(1.0, settings.webhook_retry_seconds), observe=observe)
    async with running(worker.run_forever(), "webhook deliveries"):
        yield worker
