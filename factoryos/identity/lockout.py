"""Failed-login throttling, keyed by hashes of (email, client address) and of the address.

Keying by the email rather than the account means an unknown address locks exactly like
a real one, so lockout cannot be used to discover which accounts exist. Keying by the
pair with the client address means an attacker at one address cannot lock the owner out
at another; the per-address key (a higher threshold, over any emails) stops one address
from guessing across many accounts. Attempts while locked are counted on the row, not
each audited: one audit row per lock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.errors import RateLimited
from factoryos.identity.errors import AccountLocked
from factoryos.identity.policy import IdentityPolicy
from factoryos.identity.runtime import IdentityRuntime
from factoryos.schema.identity import login_throttle as t

_STALE = timedelta(days=1)


@dataclass(frozen=True)
class ThrottleKeys:
    pair: str  # this email from this address
    address: str  # any email from this address

    def all(self) -> tuple[str, str]:
        return self.pair, self.address


def _email_part(rt: IdentityRuntime, email: str) -> str:
    return rt.keys.lookup_hash("login:" + email.strip().lower())[:32]


def throttle_keys(rt: IdentityRuntime, email: str, client_ip: str) -> ThrottleKeys:
    # The pair key starts with the email's hash, so a host-side reset can clear every address's row.
    return ThrottleKeys(_email_part(rt, email) + rt.keys.lookup_hash("login-from:" + client_ip)[:32],
                        rt.keys.lookup_hash("login-address:" + client_ip))


def clear_email(conn: Connection, rt: IdentityRuntime, email: str) -> None:
    """Forget the failures of this email from every address (a password reset on the host)."""
    conn.execute(delete(t).where(t.c.key.startswith(_email_part(rt, email), autoescape=True)))


def _locked_error(until: datetime, now: datetime) -> AccountLocked:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    minutes = math.ceil(seconds / 60)
    return AccountLocked(
        f"too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}",
        extra={"retry_after": seconds},
    )


def ensure_not_locked(conn: Connection, keys: ThrottleKeys, now: datetime | None = None) -> None:
    """Raise `AccountLocked` (with `repeated=True`: already audited) while either key is locked,
    counting the attempt on the locked row."""
    now = now or datetime.now(timezone.utc)
    locked = conn.execute(
        update(t).where(t.c.key.in_(keys.all()), t.c.locked_until > now)
        .values(failures=t.c.failures + 1, updated_at=now).returning(t.c.locked_until)
    ).scalars().all()
    if locked:
        error = _locked_error(max(locked), now)
        error.repeated = True
        raise error


def record_failure(
    conn: Connection, policy: IdentityPolicy, keys: ThrottleKeys, now: datetime | None = None
) -> AccountLocked | None:
    """Count one failure on both keys; returns the lockout error when this failure locked one."""
    now = now or datetime.now(timezone.utc)
    errors = [_count(conn, policy, keys.pair, policy.lockout_threshold, now),
              _count(conn, policy, keys.address, policy.lockout_address_threshold, now)]
    _sweep(conn, now)
    return next((e for e in errors if e is not None), None)


def _count(conn: Connection, policy: IdentityPolicy, key: str, threshold: int, now: datetime) -> AccountLocked | None:
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
    locked_until = now + window if failures >= threshold else None
    conn.execute(
        update(t)
        .where(t.c.key == key)
        .values(failures=failures, first_failed_at=first, locked_until=locked_until, updated_at=now)
    )
    if locked_until is None:
        return None
    error = _locked_error(locked_until, now)
    error.failures = failures
    return error


def clear(conn: Connection, keys: ThrottleKeys) -> None:
    """A good sign-in forgets this pair's failures (the address's other failures still count)."""
    conn.execute(delete(t).where(t.c.key == keys.pair))


def _sweep(conn: Connection, now: datetime) -> None:
    # Old entries of mistyped or probed addresses; a few per failure keeps the table small.
    unlocked = or_(t.c.locked_until.is_(None), t.c.locked_until < now)
    stale = select(t.c.key).where(t.c.updated_at < now - _STALE, unlocked).limit(50)
    conn.execute(delete(t).where(t.c.key.in_(stale.scalar_subquery())))


def _registration_key(rt: IdentityRuntime, client_ip: str) -> str:
    return rt.keys.lookup_hash("register-address:" + client_ip)


def guard_probe(conn: Connection, policy: IdentityPolicy, rt: IdentityRuntime, client_ip: str) -> None:
    """Registration answers alike for new and taken emails; what remains to probe with is the
    volume, so one address may register only so many accounts per lockout window."""
    until = conn.execute(select(t.c.locked_until).where(t.c.key == _registration_key(rt, client_ip))).scalar()
    now = datetime.now(timezone.utc)
    if until is not None and until > now:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        raise RateLimited(f"too many registrations from this address; try again in {math.ceil(seconds / 60)} min",
                          extra={"retry_after": seconds})


def count_probe(conn: Connection, policy: IdentityPolicy, rt: IdentityRuntime, client_ip: str) -> None:
    """Count every registration from the address (new or taken email alike: the count tells nothing)."""
    _count(conn, policy, _registration_key(rt, client_ip), policy.registration_address_threshold,
           datetime.now(timezone.utc))
