"""The settings of an OpenID Connect provider (its `config` JSON; the client secret is the
provider's encrypted `secret`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from factoryos.sso.config_checks import http_url, pem_bundle
from factoryos.sso.oidc import OidcClient


class OidcConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=8, max_length=500, description=(
        "The issuer URL or its discovery document, e.g. https://login.microsoftonline.com/<tenant>/v2.0 "
        "or https://idp.plant.lan/realms/factory/.well-known/openid-configuration."))
    client_id: str = Field(min_length=1, max_length=500, description="FactoryOS's client (application) id there.")
    scopes: list[str] = Field(["openid", "email", "profile"], max_length=20,
                              description="Asked at sign-in; add the one that releases groups (e.g. 'groups').")
    email_claim: str = Field("email", max_length=100)
    name_claim: str = Field("name", max_length=100)
    groups_claim: str = Field("groups", max_length=100, description="A list of group names or ids.")
    ca_bundle: str | None = Field(None, max_length=200_000,
                                  description="PEM certificates of the CA that signs an on-prem provider's "
                                              "certificate; unset: the system's trusted CAs.")
    redirect_uri: str | None = Field(None, max_length=500, description=(
        "Browser sign-in: the callback URL registered at the provider; unset: this server's "
        "/api/v1/auth/sso/oidc/callback as the browser reached it."))
    clock_skew_seconds: int = Field(60, ge=0, le=600, description="Allowed clock difference for token times.")
    timeout_seconds: float = Field(10.0, gt=0, le=60)

    @field_validator("issuer", "redirect_uri")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return http_url(value)

    @field_validator("ca_bundle")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        return pem_bundle(value)

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(s.strip() for s in value if s.strip()))
        if "openid" not in cleaned:
            cleaned.insert(0, "openid")
        return cleaned


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Called by the registry when an admin saves an OIDC provider (pydantic errors become 422)."""
    return OidcConfig.model_validate(config).model_dump(mode="json")


def client_of(name: str, config: dict[str, Any], secret: str | None) -> OidcClient:
    c = OidcConfig.model_validate(config)
    return OidcClient(name=name, issuer=c.issuer, client_id=c.client_id, client_secret=secret,
                      scopes=tuple(c.scopes), email_claim=c.email_claim, name_claim=c.name_claim,
                      groups_claim=c.groups_claim, ca_pem=c.ca_bundle, timeout=c.timeout_seconds,
                      clock_skew=c.clock_skew_seconds)
