"""The relying party against a real OpenID Provider (oidc-provider under Node): discovery, keys,
the device grant and the code flow with PKCE, and every ID token check that must refuse."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from factoryos.sso import oidc
from factoryos.sso.oidc_errors import (
    AccessDenied,
    DeviceCodeExpired,
    DeviceCodeUsed,
    ProviderError,
    ProviderUnreachable,
    TokenRejected,
)
from tests.conftest import free_port
from tests.sso.oidc_support import (
    BRIEF_CLIENT,
    CLIENT,
    OTHER_CLIENT,
    PROTOCOL_REDIRECT,
    SECRET,
    USERS,
    Person,
)

pytestmark = pytest.mark.slow
SCOPES = ("openid", "email", "profile", "groups")


def client_of(op, client_id: str = CLIENT, **kw) -> oidc.OidcClient:
    return oidc.OidcClient(name="Test IdP", issuer=op.issuer, client_id=client_id, client_secret=SECRET,
                           scopes=SCOPES, **kw)


def device_tokens(client: oidc.OidcClient, user: str) -> oidc.Tokens:
    start = oidc.start_device(client)
    person = Person(user)
    try:
        assert "Sign-in Success" in person.visit(start.verification_uri_complete or "")
    finally:
        person.close()
    answer = oidc.poll_device(client, start.device_code)
    assert isinstance(answer, oidc.Tokens)
    return answer


def test_discovery_and_keys(oidc_op):
    client = client_of(oidc_op)
    metadata, keys = oidc.check(client)
    assert metadata.issuer == oidc_op.issuer
    assert metadata.device_authorization_endpoint and metadata.device_authorization_endpoint.startswith(oidc_op.issuer)
    assert keys == 1
    # The discovery URL itself is accepted too, and another issuer is refused.
    assert oidc.discover(oidc.OidcClient("x", oidc_op.issuer + oidc.DISCOVERY_SUFFIX, CLIENT)).issuer == oidc_op.issuer
    with pytest.raises(ProviderError) as wrong:
        oidc.discover(oidc.OidcClient("Impostor", oidc_op.issuer.replace("127.0.0.1", "localhost"), CLIENT))
    assert wrong.value.code == "sso_wrong_issuer"


def test_device_grant_pending_then_signed_in(oidc_op):
    client = client_of(oidc_op)
    start = oidc.start_device(client)
    assert len(start.user_code.replace("-", "")) == 8
    assert start.verification_uri_complete and start.user_code in start.verification_uri_complete
    assert isinstance(oidc.poll_device(client, start.device_code), oidc.Pending)
    person = Person("sam")
    try:
        assert "Sign-in Success" in person.visit(start.verification_uri_complete)
    finally:
        person.close()
    tokens = oidc.poll_device(client, start.device_code)
    assert isinstance(tokens, oidc.Tokens)
    who = oidc.identity(client, tokens, nonce=None)
    assert (who.subject, who.email, who.name) == ("sam", USERS["sam"]["email"], USERS["sam"]["name"])
    assert who.groups == ("staff", "mes-supervisors")
    # The same device code a second time: the provider refuses it.
    with pytest.raises(DeviceCodeUsed):
        oidc.poll_device(client, start.device_code)


def test_device_grant_denied_by_the_person(oidc_op):
    client = client_of(oidc_op)
    start = oidc.start_device(client)
    person = Person("ana")
    try:
        person.visit(start.verification_uri_complete or "", allow=False)
    finally:
        person.close()
    with pytest.raises(AccessDenied) as denied:
        oidc.poll_device(client, start.device_code)
    assert denied.value.code == "sso_access_denied" and denied.value.provider == "Test IdP"


def test_device_code_expires(oidc_op):
    client = client_of(oidc_op, BRIEF_CLIENT)
    start = oidc.start_device(client)
    assert start.expires_in <= 3
    time.sleep(start.expires_in + 1)
    with pytest.raises(DeviceCodeExpired):
        oidc.poll_device(client, start.device_code)


def test_code_flow_with_pkce_and_nonce(oidc_op):
    client = client_of(oidc_op)
    state, nonce, verifier = oidc.new_secret(), oidc.new_secret(), oidc.new_secret()
    url = oidc.authorization_url(client, redirect_uri=PROTOCOL_REDIRECT, state=state, nonce=nonce, verifier=verifier)
    person = Person("ana")
    try:
        back = person.visit(url, stop_at=PROTOCOL_REDIRECT)
    finally:
        person.close()
    query = parse_qs(urlsplit(back).query)
    assert query["state"] == [state]
    code = query["code"][0]
    # A wrong verifier is refused by the provider (PKCE binds the code to who started).
    with pytest.raises(ProviderError) as refused:
        oidc.exchange_code(client, code=code, redirect_uri=PROTOCOL_REDIRECT, verifier=oidc.new_secret())
    assert refused.value.code == "sso_code_rejected"
    # ...and the provider then revokes the code: a new sign-in is needed.
    person = Person("ana")
    try:
        back = person.visit(url, stop_at=PROTOCOL_REDIRECT)
    finally:
        person.close()
    tokens = oidc.exchange_code(client, code=parse_qs(urlsplit(back).query)["code"][0],
                                redirect_uri=PROTOCOL_REDIRECT, verifier=verifier)
    who = oidc.identity(client, tokens, nonce=nonce)
    assert (who.subject, who.groups) == ("ana", ("mes-operators",))
    with pytest.raises(TokenRejected) as replay:
        oidc.identity(client, tokens, nonce=oidc.new_secret())
    assert replay.value.code == "sso_nonce_mismatch"


def test_token_for_another_application_is_refused(oidc_op):
    tokens = device_tokens(client_of(oidc_op, OTHER_CLIENT), "ana")
    with pytest.raises(TokenRejected) as wrong:
        oidc.identity(client_of(oidc_op), tokens, nonce=None)
    assert wrong.value.code == "sso_wrong_audience"
    assert "Test IdP" in wrong.value.detail


def test_expired_id_token_is_refused(oidc_op):
    client = client_of(oidc_op, BRIEF_CLIENT)
    tokens = device_tokens(client, "zoe")
    metadata = oidc.discover(client)
    assert oidc.validate_id_token(client, metadata, tokens.id_token, nonce=None, leeway=0)["sub"] == "zoe"
    time.sleep(2.1)
    with pytest.raises(TokenRejected) as expired:
        oidc.validate_id_token(client, metadata, tokens.id_token, nonce=None, leeway=0)
    assert expired.value.code == "sso_token_expired"


def test_tampered_id_token_is_refused(oidc_op):
    client = client_of(oidc_op)
    tokens = device_tokens(client, "ana")
    head, payload, signature = tokens.id_token.split(".")
    forged = ".".join((head, payload, signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")))
    with pytest.raises(TokenRejected) as bad:
        oidc.validate_id_token(client, oidc.discover(client), forged, nonce=None)
    assert bad.value.code == "sso_token_invalid"
    unsigned = ".".join(("eyJhbGciOiJub25lIn0", payload, ""))
    with pytest.raises(TokenRejected):
        oidc.validate_id_token(client, oidc.discover(client), unsigned, nonce=None)


def test_provider_down_names_it():
    client = oidc.OidcClient(name="Plant Keycloak", issuer=f"http://127.0.0.1:{free_port()}", client_id=CLIENT,
                             client_secret=SECRET, timeout=3)
    with pytest.raises(ProviderUnreachable) as down:
        oidc.start_device(client)
    assert down.value.code == "sso_provider_unreachable" and down.value.status == 503
    assert down.value.detail.startswith("Plant Keycloak: the identity provider cannot be reached")


def test_admin_test_button_in_words(oidc_op):
    from factoryos.sso.oidc_test import test_provider as check_provider

    good = check_provider({"issuer": oidc_op.issuer, "client_id": CLIENT}, SECRET, "Plant Keycloak")
    assert good.ok and [s.step for s in good.steps] == ["discovery", "signing keys"]
    assert "offers device sign-in" in good.steps[0].message and "1 signing key" in good.steps[1].message
    down = check_provider({"issuer": f"http://127.0.0.1:{free_port()}", "client_id": CLIENT, "timeout_seconds": 2},
                          None, "Plant Keycloak")
    assert not down.ok and "cannot be reached" in down.summary and down.steps[0].step == "discovery"
