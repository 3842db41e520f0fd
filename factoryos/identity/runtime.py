"""What identity services need besides a connection: policy, hasher, derived keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from factoryos.config import Settings
from factoryos.identity.keys import DerivedKeys
from factoryos.identity.passwords import Passwords
from factoryos.identity.policy import IdentityPolicy
from factoryos.keys import secret_key


@dataclass(frozen=True)
class IdentityRuntime:
    policy: IdentityPolicy
    passwords: Passwords
    keys: DerivedKeys

    @classmethod
    def from_settings(cls, settings: Settings, policy: IdentityPolicy | None = None) -> IdentityRuntime:
        policy = policy or IdentityPolicy()
        return cls(policy=policy, passwords=Passwords(policy), keys=DerivedKeys.from_secret(secret_key(settings)))

    @property
    def access_ttl(self) -> timedelta:
        return timedelta(minutes=self.policy.access_token_minutes)

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(days=self.policy.refresh_token_days)
