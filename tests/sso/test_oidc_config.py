"""An OIDC provider's settings as an admin saves them: what is refused, what is filled in."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from factoryos.sso.oidc import OidcClient, pkce_challenge
from factoryos.sso.oidc_config import client_of, validate_config


def test_settings_are_checked_and_openid_is_always_asked() -> None:
    saved = validate_config({"issuer": "https://idp.plant.example.com/realms/mes", "client_id": "factoryos",
                             "scopes": ["email", "groups", "email"]})
    assert saved["scopes"] == ["openid", "email", "groups"]
    for bad in ({"issuer": "idp.plant.example.com", "client_id": "x"}, {"issuer": "https://idp.example.com"},
                {"issuer": "https://idp.example.com", "client_id": "x", "ca_bundle": "not a certificate"},
                {"issuer": "https://idp.example.com", "client_id": "x", "client_secret": "never in config"}):
        with pytest.raises(ValidationError):
            validate_config(bad)


def test_issuer_or_discovery_url() -> None:
    by_issuer = client_of("IdP", {"issuer": "https://idp.example.com/realms/mes/", "client_id": "c"}, None)
    by_doc = OidcClient("IdP", "https://idp.example.com/realms/mes/.well-known/openid-configuration", "c")
    assert by_issuer.discovery_url == by_doc.discovery_url == \
        "https://idp.example.com/realms/mes/.well-known/openid-configuration"
    assert by_issuer.expected_issuer == by_doc.expected_issuer == "https://idp.example.com/realms/mes"


def test_pkce_s256_matches_rfc7636_appendix_b() -> None:
    assert pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
