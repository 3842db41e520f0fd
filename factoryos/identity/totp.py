"""TOTP second factor (RFC 6238 via pyotp) and single-use recovery codes.

The shared secret is stored encrypted (Fernet, key derived from the server secret);
recovery codes are stored only as keyed hashes. A code's time step is remembered so the
same code cannot be replayed within its validity window.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timezone

import pyotp
from cryptography.fernet import Fernet, InvalidToken

from factoryos.errors import ConfigError
from factoryos.identity.keys import DerivedKeys

ISSUER = "FactoryOS"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def encrypt_secret(keys: DerivedKeys, secret: str) -> str:
    return Fernet(keys.totp_encryption).encrypt(secret.encode()).decode()


def decrypt_secret(keys: DerivedKeys, stored: str) -> str:
    try:
        return Fernet(keys.totp_encryption).decrypt(stored.encode()).decode()
    except InvalidToken:
        # The server secret changed since enrollment: an admin must reset this user's MFA.
        raise ConfigError("the stored TOTP secret cannot be decrypted with this server's key") from None


def matching_step(secret: str, code: str, *, after_step: int | None, now: datetime | None = None) -> int | None:
    """The time step the code belongs to (±1 step of drift), if valid and newer than `after_step`."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or datetime.now(timezone.utc))
    found = None
    for step in (current - 1, current, current + 1):
        # Check every window (no early exit) so timing does not tell which one matched.
        if hmac.compare_digest(totp.generate_otp(step), code) and (after_step is None or step > after_step):
            found = step
    return found


def new_recovery_codes() -> list[str]:
    def one() -> str:
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return f"{raw[:5]}-{raw[5:]}"

    return [one() for _ in range(RECOVERY_CODES)]


def normalize_recovery_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def hash_recovery_code(keys: DerivedKeys, code: str) -> str:
    return keys.lookup_hash("recovery:" + normalize_recovery_code(code))


def find_recovery_code(keys: DerivedKeys, stored: list[str], code: str) -> str | None:
    """The stored hash this code matches, comparing against all of them in constant time each."""
    candidate = hash_recovery_code(keys, code)
    match = None
    for h in stored:
        if hmac.compare_digest(h, candidate):
            match = h
    return match
