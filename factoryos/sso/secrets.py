"""Provider secrets at rest: Fernet, with a key of its own derived from the connection-secret key.

A sub-key (HKDF, purpose "sso-secret") keeps SSO secrets and machine passwords from sharing a key
while needing nothing new from the server secret.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from factoryos.errors import ConfigError
from factoryos.identity.keys import DerivedKeys


def _fernet(keys: DerivedKeys) -> Fernet:
    parent = base64.urlsafe_b64decode(keys.connection_encryption)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"factoryos/sso-secret").derive(parent)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(keys: DerivedKeys, secret: str) -> str:
    return _fernet(keys).encrypt(secret.encode()).decode()


def decrypt_secret(keys: DerivedKeys, stored: str) -> str:
    try:
        return _fernet(keys).decrypt(stored.encode()).decode()
    except InvalidToken:
        raise ConfigError(
            "the provider's stored secret cannot be decrypted with this server's key: enter it again",
            code="sso_secret_unreadable",
            status=409,
        ) from None
