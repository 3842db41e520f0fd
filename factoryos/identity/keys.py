"""Purpose-bound keys derived from the server secret (HKDF), one per use.

Deriving instead of reusing the raw secret keeps a token signature from ever doubling as
an encryption key or a lookup hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"factoryos/{purpose}".encode()).derive(secret)


@dataclass(frozen=True)
class DerivedKeys:
    token_signing: bytes
    totp_encryption: str  # Fernet key (urlsafe base64)
    lookup: bytes
    connection_encryption: str  # Fernet key for machine connection passwords

    @classmethod
    def from_secret(cls, secret: str) -> DerivedKeys:
        raw = secret.encode()
        return cls(
            token_signing=_derive(raw, "access-token"),
            totp_encryption=base64.urlsafe_b64encode(_derive(raw, "totp-secret")).decode(),
            lookup=_derive(raw, "lookup-hash"),
            connection_encryption=base64.urlsafe_b64encode(_derive(raw, "connection-secret")).decode(),
        )

    def lookup_hash(self, value: str) -> str:
        """Keyed hash for secrets we must find again (invite codes, refresh tokens, throttle keys)."""
        return hmac.new(self.lookup, value.encode(), hashlib.sha256).hexdigest()
