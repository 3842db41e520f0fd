"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from factoryos.errors import ValidationFailed
from factoryos.identity.policy import IdentityPolicy

MAX_PASSWORD_LENGTH = 1024  # hashing cost must not be driven by the client


class Passwords:
    def __init__(self, policy: IdentityPolicy) -> None:
        self.policy = policy
        self._hasher = PasswordHasher(
            time_cost=policy.argon2_time_cost,
            memory_cost=policy.argon2_memory_kib,
            parallelism=policy.argon2_parallelism,
            type=Type.ID,
        )
        # Verified against when the account does not exist, so both paths cost the same.
        self.dummy_hash = self._hasher.hash("factoryos-no-such-account")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self.dummy_hash, password[:MAX_PASSWORD_LENGTH])
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)

    def check_rules(self, password: str, *, email: str | None = None, field: str = "password") -> None:
        if len(password) < self.policy.password_min_length:
            raise ValidationFailed(
                f"password must have at least {self.policy.password_min_length} characters",
                code="weak_password",
                field=field,
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValidationFailed(
                f"password must have at most {MAX_PASSWORD_LENGTH} characters", code="weak_password", field=field
            )
        if email and password.strip().lower() == email.strip().lower():
            raise ValidationFailed("password must not be the email address", code="weak_password", field=field)
