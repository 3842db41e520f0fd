"""Failed-login throttling, keyed by a hash of the email (known or not).

Keying by the email rather than the account means an unknown address locks exactly like
a real one, so lockout cannot be used to discover which accounts exist.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.identity.errors import AccountLocked
from factoryos.identity.policy import IdentityPolicy
from factoryos.identity.runtime import IdentityRuntime
from factoryos.schema.identity import login_throttle as t

_STALE = timedelta(days=1)


def throttle_key(rt: IdentityRuntime, email: str) -> str:
    return rt.keys.lookup_hash("login:" + email.strip().lower())


def _locked_error(until: datetime, now: datetime) -> AccountLocked:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    minutes = math.ceil(seconds / 60)
    return AccountLocked(
        f"too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}",
        extra={"retry_after": seconds},
    )


def ensure_not_locked(conn: Connection, key: str, now: datetime | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    until = conn.execute(select(t.c.locked_until).where(t.c.key == key)).scalar()
    if until is not None and until > now:
        raise _locked_error(until, now)


def record_failure(
    conn: Connection, policy: IdentityPolicy, key: str, now: datetime | None = None
) -> AccountLocked | None:
    """Count one failure; returns the lockout error when this failure locked the key."""
    now = now or datetime.now(timezone.utc)
    window = timedelta(minutes=policy.lockout_minutes)
    conn.execute(pg_insert(t).values(key=key, failures=0, first_failed_at=now).on_conflict_do_nothing())
    row = conn.execute(select(t).where(t.c.key == key).with_for_update()).mappings().one()
    expired = (
        row["first_failed_at"] is None
        or row["first_failed_at"] < now - window
        or (row["locked_until"] is not None and row["locked_until"] <= now)
    )
    failures = 1 if expired else row["failures"] + 1
    first = now if expired else row["first_failed_at"]
    locked_until = now + window if failures >= policy.lockout_threshold else None
    conn.execute(
        update(t)
        .where(t.c.key == key)
        .values(failures=failures, first_failed_at=first, locked_until=locked_until, updated_at=now)
    )
    _sweep(conn, now)
    return _locked_error(locked_until, now) if locked_until else None


def clear(conn: Connection, key: str) -> None:
    conn.execute(delete(t).where(t.c.key == key))


def _sweep(conn: Connection, now: datetime) -> None:
    # Old entries of mistyped or probed addresses; a few per failure keeps the table small.
    unlocked = or_(t.c.locked_until.is_(None), t.c.locked_until < now)
    stale = select(t.c.key).where(t.c.updated_at < now - _STALE, unlocked).limit(50)
    conn.execute(delete(t).where(t.c.key.in_(stale.scalar_subquery())))
