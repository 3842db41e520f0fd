"""Connection passwords at rest: Fernet with the purpose-bound key derived from the server secret."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from factoryos.errors import ConfigError
from factoryos.identity.keys import DerivedKeys


def encrypt_password(keys: DerivedKeys, password: str) -> str:
    return Fernet(keys.connection_encryption).encrypt(password.encode()).decode()


def decrypt_password(keys: DerivedKeys, stored: str) -> str:
    try:
        return Fernet(keys.connection_encryption).decrypt(stored.encode()).decode()
    except InvalidToken:
        # The server secret changed since the password was saved: it must be entered again.
        raise ConfigError(
            "a stored connection password cannot be decrypted with this server's key: enter it again",
            code="connection_secret_unreadable",
            status=409,
        ) from None
