"""Access tokens (short-lived HS256 JWTs) and opaque refresh tokens.

An access token names the user, the company (tenant) and the login session; a company-
less "account" token only lets a new user create or join a company. Refresh tokens are
random, stored as keyed hashes, and carry their tenant in clear only as a lookup hint:
the hash must still match inside that tenant.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from uuid import UUID

import jwt

from factoryos.errors import Unauthorized

ISSUER = "factoryos"
AUDIENCE = "factoryos-api"
ACCESS = "access"
ACCOUNT = "account"
_LEEWAY_SECONDS = 10


@dataclass(frozen=True)
class AccessClaims:
    user_id: UUID
    tenant_id: UUID | None
    session_id: UUID | None
    kind: str
    expires_at: datetime


def issue_token(
    key: bytes, *, user_id: UUID, tenant_id: UUID | None, session_id: UUID | None, ttl: timedelta
) -> tuple[str, datetime]:
    now = datetime.now(timezone.utc)
    expires = now + ttl
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "typ": ACCESS if tenant_id else ACCOUNT,
    }
    if tenant_id is not None:
        claims["tid"] = str(tenant_id)
        claims["sid"] = str(session_id)
    return jwt.encode(claims, key, algorithm="HS256"), expires


class _DecodedTokens:
    """Claims of tokens already verified in this process, until they expire.

    A terminal sends the same token with every request for its whole lifetime, and
    verifying it (base64, JSON, HMAC, claim checks) is a fixed cost per request. Keyed by
    a hash of signing key and token, so a token is never trusted under another key and the
    token itself is not kept; an entry is used only while its token has not expired, and a
    bounded LRU keeps memory flat. Only the signature check is skipped: revocation, the
    session and the membership are still read live by every request.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, AccessClaims] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def digest(key: bytes, token: str) -> bytes:
        return hashlib.blake2b(token.encode(), key=hashlib.sha256(key).digest(), digest_size=20).digest()

    def get(self, digest: bytes) -> AccessClaims | None:
        with self._lock:
            claims = self._entries.get(digest)
            if claims is None:
                return None
            if claims.expires_at + timedelta(seconds=_LEEWAY_SECONDS) <= datetime.now(timezone.utc):
                del self._entries[digest]  # decode again: it raises token_expired
                return None
            self._entries.move_to_end(digest)
            return claims

    def put(self, digest: bytes, claims: AccessClaims) -> None:
        with self._lock:
            self._entries[digest] = claims
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


decoded_tokens = _DecodedTokens()


def decode_token(key: bytes, token: str) -> AccessClaims:
    """Verify an access token; a token this process verified before is not verified again until it expires."""
    digest = decoded_tokens.digest(key, token)
    claims = decoded_tokens.get(digest)
    if claims is None:
        claims = _verify(key, token)
        decoded_tokens.put(digest, claims)
    return claims


def _verify(key: bytes, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "typ"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired; refresh it", code="token_expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("the access token is not valid", code="invalid_token") from None
    try:
        kind = claims["typ"]
        if kind == ACCESS:
            tenant, session = UUID(claims["tid"]), UUID(claims["sid"])
        elif kind == ACCOUNT:
            tenant = session = None
        else:
            raise ValueError(kind)
        return AccessClaims(
            user_id=UUID(claims["sub"]),
            tenant_id=tenant,
            session_id=session,
            kind=kind,
            expires_at=datetime.fromtimestamp(claims["exp"], timezone.utc),
        )
    except (KeyError, ValueError, TypeError):
        raise Unauthorized("the access token is not valid", code="invalid_token") from None


def new_refresh_token(tenant_id: UUID) -> str:
    return f"{tenant_id.hex}.{secrets.token_urlsafe(32)}"


def refresh_token_tenant(token: str) -> UUID:
    head, _, tail = token.partition(".")
    try:
        if not tail:
            raise ValueError
        return UUID(hex=head)
    except ValueError:
        raise Unauthorized("the refresh token is not valid", code="invalid_refresh_token") from None


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send `Authorization: Bearer <access token>`", code="missing_token")
    return token.strip()
