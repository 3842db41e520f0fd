"""OpenID Connect relying party: discovery, JWKS, the device authorization grant (RFC 8628),
the authorization code flow with PKCE (RFC 7636), and ID token validation (PyJWT).

The server is a confidential client: terminals never talk to the identity provider's token
endpoint themselves, they ask the FactoryOS server, which keeps the device code and the PKCE
verifier. HTTP goes through the standard library (the core imports no HTTP client package);
every network failure becomes `sso_provider_unreachable`, naming the provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import jwt

from factoryos.sso.oidc_errors import (
    AccessDenied,
    DeviceCodeExpired,
    DeviceCodeUsed,
    ProviderError,
    ProviderUnreachable,
    TokenRejected,
)

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Asymmetric algorithms only: an HMAC-signed ID token would be keyed by the client secret,
# which many providers never use and which would let anyone holding it mint identities.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
METADATA_TTL = 300.0
JWKS_TTL = 3600.0
JWKS_MIN_REFRESH = 30.0  # an unknown `kid` refetches the set, but not more often than this


@dataclass(frozen=True)
class OidcClient:
    """One provider as FactoryOS uses it (built from the company's provider row)."""

    name: str
    issuer: str  # the issuer URL, or its discovery document's URL
    client_id: str
    client_secret: str | None = None
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    email_claim: str = "email"
    name_claim: str = "name"
    groups_claim: str = "groups"
    ca_pem: str | None = None  # CA certificates (PEM) of an on-prem provider; else the system's
    timeout: float = 10.0
    clock_skew: int = 60

    @property
    def discovery_url(self) -> str:
        base = self.issuer.rstrip("/")
        return base if base.endswith(DISCOVERY_SUFFIX) else base + DISCOVERY_SUFFIX

    @property
    def expected_issuer(self) -> str:
        url = self.issuer.rstrip("/")
        return url[: -len(DISCOVERY_SUFFIX)] if url.endswith(DISCOVERY_SUFFIX) else url


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    device_authorization_endpoint: str | None
    userinfo_endpoint: str | None
    signing_algs: tuple[str, ...]
    auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class DeviceStart:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    interval: int
    expires_in: int


@dataclass(frozen=True)
class Pending:
    """The person has not finished yet; `slow_down` asks to poll 5 s less often (RFC 8628 3.5)."""

    slow_down: bool = False


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str | None
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class ExternalIdentity:
    """Who the provider says signed in, after the ID token was checked."""

    issuer: str
    subject: str
    email: str | None
    name: str | None
    groups: tuple[str, ...]


# -- HTTP -----------------------------------------------------------------------------------


def _tls(client: OidcClient) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=client.ca_pem) if client.ca_pem else ssl.create_default_context()


def _call(client: OidcClient, url: str, *, form: dict[str, str] | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, parsed JSON) of one request; unreachable or non-JSON answers are errors."""
    data = urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers={"Accept": "application/json", **(headers or {})})
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        context = _tls(client) if url.lower().startswith("https:") else None
        with urllib.request.urlopen(request, timeout=client.timeout, context=context) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except ssl.SSLError as exc:
        raise ProviderUnreachable(client.name, f"{url}: TLS failed ({exc.reason or exc})") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProviderUnreachable(client.name, f"{url}: {reason}") from None
    try:
        return status, json.loads(body) if body else {}
    except ValueError:
        raise ProviderError(client.name, f"{url} answered HTTP {status} without JSON") from None


def _client_auth(client: OidcClient, metadata: Metadata, form: dict[str, str]) -> dict[str, str]:
    """client_secret_basic (RFC 6749 2.3.1, names form-encoded first) unless only _post is offered."""
    if client.client_secret is None:
        form["client_id"] = client.client_id
        return {}
    if "client_secret_basic" not in metadata.auth_methods and "client_secret_post" in metadata.auth_methods:
        form.update(client_id=client.client_id, client_secret=client.client_secret)
        return {}
    pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


# -- discovery and keys ---------------------------------------------------------------------

_lock = threading.Lock()
# Keyed by URL and the CA trusted for it: a company's own CA setting is never bypassed by
# what another company's fetch put in the cache.
_metadata_cache: dict[tuple[str, str], tuple[float, Metadata]] = {}
_jwks_cache: dict[tuple[str, str], tuple[float, jwt.PyJWKSet]] = {}


def discover(client: OidcClient, *, fresh: bool = False) -> Metadata:
    """The provider's metadata (cached 5 minutes); its issuer must be the configured one."""
    url = client.discovery_url
    with _lock:
        cached = _metadata_cache.get((url, client.ca_pem or ""))
    if cached and not fresh and time.monotonic() - cached[0] < METADATA_TTL:
        return cached[1]
    status, doc = _call(client, url)
    if status != 200 or not isinstance(doc, dict):
        raise ProviderError(client.name, f"discovery at {url} answered HTTP {status}")
    try:
        metadata = Metadata(
            issuer=str(doc["issuer"]),
            authorization_endpoint=str(doc["authorization_endpoint"]),
            token_endpoint=str(doc["token_endpoint"]),
            jwks_uri=str(doc["jwks_uri"]),
            device_authorization_endpoint=doc.get("device_authorization_endpoint"),
            userinfo_endpoint=doc.get("userinfo_endpoint"),
            signing_algs=tuple(doc.get("id_token_signing_alg_values_supported") or ("RS256",)),
            auth_methods=tuple(doc.get("token_endpoint_auth_methods_supported") or ("client_secret_basic",)),
        )
    except KeyError as exc:
        raise ProviderError(client.name, f"discovery document lacks {exc.args[0]}") from None
    if metadata.issuer.rstrip("/") != client.expected_issuer:
        raise ProviderError(client.name, f"discovery names issuer {metadata.issuer}, "
                                         f"not the configured {client.expected_issuer}", code="sso_wrong_issuer")
    with _lock:
        _metadata_cache[(url, client.ca_pem or "")] = (time.monotonic(), metadata)
    return metadata


def signing_keys(client: OidcClient, metadata: Metadata, *, fresh: bool = False) -> jwt.PyJWKSet:
    """The provider's public keys (cached an hour; `fresh` refetches, at most every 30 s)."""
    key = (metadata.jwks_uri, client.ca_pem or "")
    with _lock:
        cached = _jwks_cache.get(key)
    if cached:
        age = time.monotonic() - cached[0]
        if age < JWKS_TTL and (not fresh or age < JWKS_MIN_REFRESH):
            return cached[1]
    status, doc = _call(client, metadata.jwks_uri)
    if status != 200 or not isinstance(doc, dict):
        raise ProviderError(client.name, f"key set at {metadata.jwks_uri} answered HTTP {status}")
    try:
        keys = jwt.PyJWKSet.from_dict(doc)
    except jwt.PyJWTError as exc:
        raise ProviderError(client.name, f"key set at {metadata.jwks_uri} is unusable: {exc}") from None
    with _lock:
        _jwks_cache[key] = (time.monotonic(), keys)
    return keys


def check(client: OidcClient) -> tuple[Metadata, int]:
    """The admin's Test button: discovery and key set, fetched now (metadata, number of keys)."""
    metadata = discover(client, fresh=True)
    with _lock:
        _jwks_cache.pop((metadata.jwks_uri, client.ca_pem or ""), None)
    return metadata, len(signing_keys(client, metadata).keys)


# -- device authorization grant (RFC 8628) ---------------------------------------------------


def start_device(client: OidcClient) -> DeviceStart:
    metadata = discover(client)
    if not metadata.device_authorization_endpoint:
        raise ProviderError(client.name, "this provider offers no device sign-in (device authorization endpoint)",
                            code="sso_device_unsupported", status=422)
    form = {"scope": " ".join(client.scopes)}
    headers = _client_auth(client, metadata, form)
    status, doc = _call(client, metadata.device_authorization_endpoint, form=form, headers=headers)
    if status != 200 or not isinstance(doc, dict) or "device_code" not in doc:
        raise ProviderError(client.name, _oauth_error("device sign-in start", status, doc))
    return DeviceStart(
        device_code=str(doc["device_code"]),
        user_code=str(doc["user_code"]),
        verification_uri=str(doc.get("verification_uri") or doc.get("verification_url")),
        verification_uri_complete=doc.get("verification_uri_complete"),
        interval=max(1, int(doc.get("interval") or 5)),
        expires_in=int(doc.get("expires_in") or 600),
    )


def poll_device(client: OidcClient, device_code: str) -> Tokens | Pending:
    """One token request for a device code: tokens, `Pending`, or the refusal as an error."""
    metadata = discover(client)
    form = {"grant_type": DEVICE_GRANT, "device_code": device_code}
    headers = _client_auth(client, metadata, form)
    status, doc = _call(client, metadata.token_endpoint, form=form, headers=headers)
    if status == 200 and isinstance(doc, dict) and doc.get("id_token"):
        return Tokens(id_token=str(doc["id_token"]), access_token=doc.get("access_token"), raw=doc)
    error = doc.get("error") if isinstance(doc, dict) else None
    if error == "authorization_pending":
        return Pending()
    if error == "slow_down":
        return Pending(slow_down=True)
    if error == "expired_token":
        raise DeviceCodeExpired(client.name)
    if error == "access_denied":
        raise AccessDenied(client.name)
    if error == "invalid_grant":
        # The provider no longer knows the code: it was already exchanged (or revoked).
        raise DeviceCodeUsed(client.name)
    raise ProviderError(client.name, _oauth_error("device sign-in", status, doc))


# -- authorization code with PKCE -------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(client: OidcClient, *, redirect_uri: str, state: str, nonce: str, verifier: str,
                      fresh_login: bool = False) -> str:
    """`fresh_login`: the person must sign in at the provider now, whatever session they have
    there (prompt=login, max_age=0; the ID token's auth_time says when they did)."""
    metadata = discover(client)
    params = {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri,
        "scope": " ".join(client.scopes), "state": state, "nonce": nonce,
        "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
    }
    if fresh_login:
        params.update(prompt="login", max_age="0")
    query = urlencode(params)
    sep = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{sep}{query}"


def exchange_code(client: OidcClient, *, code: str, redirect_uri: str, verifier: str) -> Tokens:
    metadata = discover(client)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    headers = _client_auth(client, metadata, form)
    status, doc = _call(client, metadata.token_endpoint, form=form, headers=headers)
    if status == 200 and isinstance(doc, dict) and doc.get("id_token"):
        return Tokens(id_token=str(doc["id_token"]), access_token=doc.get("access_token"), raw=doc)
    raise ProviderError(client.name, _oauth_error("code exchange", status, doc), code="sso_code_rejected",
                        status=401)


def _oauth_error(step: str, status: int, doc: Any) -> str:
    if isinstance(doc, dict) and doc.get("error"):
        described = f": {doc['error_description']}" if doc.get("error_description") else ""
        return f"{step} refused ({doc['error']}{described})"
    return f"{step} answered HTTP {status}"


# -- ID token ---------------------------------------------------------------------------------


def validate_id_token(client: OidcClient, metadata: Metadata, id_token: str, *, nonce: str | None,
                      leeway: int | None = None) -> dict[str, Any]:
    """The ID token's claims once signature (JWKS), issuer, audience, expiry and nonce hold."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise TokenRejected(client.name, "the ID token is not a signed JWT") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS or alg not in metadata.signing_algs:
        raise TokenRejected(client.name, f"the ID token is signed with {alg!r}, which is not accepted")
    key = _key_for(client, metadata, header.get("kid"))
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token, key=key, algorithms=[alg], audience=client.client_id, issuer=metadata.issuer,
            leeway=client.clock_skew if leeway is None else leeway,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected(client.name, "the ID token has expired", code="sso_token_expired") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected(client.name, f"the ID token was issued for another application, not client "
                                         f"{client.client_id}", code="sso_wrong_audience") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected(client.name, "the ID token names another issuer", code="sso_wrong_issuer") from None
    except jwt.PyJWTError as exc:
        raise TokenRejected(client.name, f"the ID token is not valid: {exc}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client.client_id:  # OIDC Core 3.1.3.7 (4-5)
        raise TokenRejected(client.name, "the ID token is shared with other applications and not "
                                         "authorised for this one", code="sso_wrong_audience")
    if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise TokenRejected(client.name, "the ID token does not answer this sign-in (nonce)",
                            code="sso_nonce_mismatch")
    return claims


def _key_for(client: OidcClient, metadata: Metadata, kid: str | None) -> jwt.PyJWK:
    for fresh in (False, True):  # a key rotated since the last fetch: fetch once more
        keys = signing_keys(client, metadata, fresh=fresh).keys
        if kid is None and len(keys) == 1:
            return keys[0]
        for key in keys:
            if key.key_id == kid:
                return key
    raise TokenRejected(client.name, f"the ID token's signing key {kid!r} is not in the provider's key set")


def identity(client: OidcClient, tokens: Tokens, *, nonce: str | None) -> ExternalIdentity:
    """Validate the ID token and read email, name and groups (from the userinfo endpoint when
    the provider keeps them out of the ID token, as many do unless asked)."""
    metadata = discover(client)
    claims = validate_id_token(client, metadata, tokens.id_token, nonce=nonce)
    wanted = (client.email_claim, client.name_claim, client.groups_claim)
    if any(c not in claims for c in wanted) and tokens.access_token and metadata.userinfo_endpoint:
        status, info = _call(client, metadata.userinfo_endpoint,
                             headers={"Authorization": f"Bearer {tokens.access_token}"})
        # OIDC Core 5.3.2: userinfo about someone else must not be used.
        if status == 200 and isinstance(info, dict) and info.get("sub") == claims["sub"]:
            claims = {**info, **claims}
    return ExternalIdentity(
        issuer=metadata.issuer,
        subject=str(claims["sub"]),
        email=_text(claims.get(client.email_claim)),
        name=_text(claims.get(client.name_claim)),
        groups=_groups(claims.get(client.groups_claim)),
    )


def _text(value: Any) -> str | None:
    return (str(value).strip() or None) if value is not None else None


def _groups(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # some providers send one group as a plain string
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if v is not None)
    return ()
