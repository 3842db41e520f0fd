"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

import re
from collections.abc import Sequence

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

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

    def check_rules(self, password: str, *, email: str | None = None, user_inputs: Sequence[str] = (),
                    field: str = "password") -> None:
        """NIST SP 800-63B: a length floor, no composition rules, and no password that is common or
        guessable, judged by zxcvbn's offline estimator with the account's own words as hints."""
        minimum = self.policy.password_min_length
        if not password.strip():
            raise ValidationFailed(f"a password cannot be only spaces; use at least {minimum} characters, "
                                   "for example a few unrelated words", code="weak_password", field=field)
        if len(password) < minimum:
            raise ValidationFailed(f"password must have at least {minimum} characters; a few unrelated words "
                                   "are easy to remember and hard to guess", code="weak_password", field=field)
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValidationFailed(
                f"password must have at most {MAX_PASSWORD_LENGTH} characters", code="weak_password", field=field
            )
        if email and password.strip().lower() == email.strip().lower():
            raise ValidationFailed("password must not be the email address", code="weak_password", field=field)
        hints = _hints(email, user_inputs)
        verdict = zxcvbn(password[:100], user_inputs=hints)  # its cost grows with length; 100 is plenty
        if verdict["score"] < self.policy.password_min_score:
            feedback = verdict.get("feedback") or {}
            why = (feedback.get("warning") or "it is too easy to guess").rstrip(".")
            tips = " ".join(feedback.get("suggestions") or ["Add another word or two; uncommon words are better."])
            raise ValidationFailed(f"this password is too easy to guess ({why[0].lower() + why[1:]}). {tips}",
                                   code="weak_password", field=field)


def _hints(email: str | None, user_inputs: Sequence[str]) -> list[str]:
    """The account's own words, whole, split and run together ("olga.owner" → olga, owner,
    olgaowner): zxcvbn only matches what it is given as a dictionary word."""
    hints: list[str] = []
    for text in (email, *user_inputs):
        if not text:
            continue
        words = [w for w in re.split(r"[^0-9a-zA-Z]+", text.lower()) if w]
        local = re.split(r"[^0-9a-zA-Z]+", text.lower().split("@")[0])
        hints += [text.lower(), *words, "".join(local), "".join(words)]
    return list(dict.fromkeys(h for h in hints if len(h) > 2))
