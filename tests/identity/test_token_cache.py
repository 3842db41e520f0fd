"""Access tokens are verified once per process and trusted only until they expire."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from factoryos.errors import Unauthorized
from factoryos.identity.keys import DerivedKeys
from factoryos.identity.tokens import _DecodedTokens, decode_token, decoded_tokens, issue_token


def _token(key: bytes, ttl: timedelta) -> str:
    return issue_token(key, user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), session_id=uuid.uuid4(), ttl=ttl)[0]


def test_a_verified_token_is_served_from_the_cache_only_under_its_own_key() -> None:
    keys, other = DerivedKeys.from_secret("c" * 40), DerivedKeys.from_secret("d" * 40)
    token = _token(keys.token_signing, timedelta(minutes=15))
    first = decode_token(keys.token_signing, token)
    assert decoded_tokens.get(decoded_tokens.digest(keys.token_signing, token)) == first
    assert decode_token(keys.token_signing, token) == first
    with pytest.raises(Unauthorized) as exc:
        decode_token(other.token_signing, token)
    assert exc.value.code == "invalid_token"


def test_a_cached_token_is_refused_once_it_expires() -> None:
    key = DerivedKeys.from_secret("e" * 40).token_signing
    token = _token(key, timedelta(seconds=-9))  # still inside the 10 s leeway for about a second
    decode_token(key, token)
    time.sleep(2.1)
    with pytest.raises(Unauthorized) as exc:
        decode_token(key, token)
    assert exc.value.code == "token_expired"
    assert decoded_tokens.get(decoded_tokens.digest(key, token)) is None


def test_the_cache_is_bounded() -> None:
    cache = _DecodedTokens(size=3)
    key = DerivedKeys.from_secret("f" * 40).token_signing
    claims = decode_token(key, _token(key, timedelta(minutes=5)))
    for i in range(5):
        cache.put(bytes([i]), claims)
    assert [cache.get(bytes([i])) for i in range(5)] == [None, None, claims, claims, claims]
