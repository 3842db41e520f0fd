"""The admin's Test button for an OIDC provider: discovery and key set, said in words."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from factoryos.sso import oidc
from factoryos.sso.models import ProviderTestOut, ProviderTestStep
from factoryos.sso.oidc_config import client_of
from factoryos.sso.oidc_errors import OidcError


def test_provider(config: dict[str, Any], secret: str | None, name: str = "provider") -> ProviderTestOut:
    steps: list[ProviderTestStep] = []
    try:
        client = client_of(name, config, secret)
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return ProviderTestOut(ok=False, summary=f"The settings are incomplete: {message}", steps=[])
    try:
        metadata = oidc.discover(client, fresh=True)
        device = "offers device sign-in" if metadata.device_authorization_endpoint else \
            "offers NO device sign-in (terminals cannot use it)"
        steps.append(ProviderTestStep(ok=True, step="discovery",
                                      message=f"Found issuer {metadata.issuer}; it {device}."))
        _, count = oidc.check(client)
        steps.append(ProviderTestStep(ok=True, step="signing keys",
                                      message=f"Read {count} signing key(s) from {metadata.jwks_uri}."))
    except OidcError as exc:
        steps.append(ProviderTestStep(ok=False, step="discovery" if not steps else "signing keys",
                                      message=exc.reason))
        return ProviderTestOut(ok=False, summary=f"{name} is not usable: {exc.reason}", steps=steps)
    if secret is None:
        steps.append(ProviderTestStep(ok=True, step="client secret",
                                      message="No client secret stored: FactoryOS signs in as a public client."))
    return ProviderTestOut(ok=True, summary=f"{name} answers and its keys are readable.", steps=steps)
