"""API shapes of identity providers, their mapping rules and the company's sign-in options.

A provider's `secret` (LDAP service-bind password, OIDC client secret) is write-only: it is
stored encrypted and answers only say whether one is stored (`has_secret`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from factoryos.sso.saml_models import SamlSpOut

Kind = Literal["ldap", "oidc", "saml"]
# What a rule may give: every role but owner (the owner is the company's local break-glass account).
MappedRole = Literal["admin", "plant_manager", "supervisor", "estimator", "operator", "read_only"]


class MappingRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = Field(min_length=1, max_length=500,
                       description="A directory group: its full DN or its name (cn), matched without case.")
    role: MappedRole
    granted: list[str] = Field(default_factory=list, description="Extra permissions on top of the role.")
    denied: list[str] = Field(default_factory=list, description="Permissions taken away from the role.")
    site_ids: list[UUID] | None = Field(
        None, min_length=1, max_length=200,
        description="Limit the member to these sites (set at each sign-in); null leaves their sites as an "
                    "administrator set them (every site for a new member).")


class MappingRuleOut(MappingRuleIn):
    position: int = Field(description="1 is tried first; the first rule whose group the person is in decides.")


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    name: str = Field(min_length=1, max_length=80, description="Shown on the sign-in screen, e.g. 'Plant AD'.")
    enabled: bool = True
    email_domains: list[str] = Field(
        default_factory=list, max_length=50,
        description="Emails of these domains are sent to this provider on the sign-in screen; a domain "
                    "can be routed by one company only.")
    config: dict[str, Any] = Field(default_factory=dict, description="The kind's settings (see LdapConfig).")
    secret: SecretStr | None = Field(None, description="Service-bind password or client secret; never returned.")
    default_role: MappedRole | None = Field(
        None, description="Role of a person in none of the rules' groups; null refuses them.")
    rules: list[MappingRuleIn] = Field(default_factory=list, max_length=200, description="In the order tried.")


class ProviderPatch(BaseModel):
    """Fields left out keep their value; `rules` replaces every rule; `secret: ""` removes the secret."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=80)
    enabled: bool | None = None
    email_domains: list[str] | None = Field(None, max_length=50)
    config: dict[str, Any] | None = None
    secret: SecretStr | None = None
    default_role: MappedRole | None = None
    refuse_unmapped: bool | None = Field(None, description="true sets default_role to null (refuse).")
    rules: list[MappingRuleIn] | None = Field(None, max_length=200)


class ProviderOut(BaseModel):
    id: UUID
    kind: Kind
    name: str
    enabled: bool
    email_domains: list[str]
    config: dict[str, Any] = Field(description="As validated; holds no secret.")
    has_secret: bool
    default_role: MappedRole | None
    rules: list[MappingRuleOut]
    sp: SamlSpOut | None = Field(None, description="SAML: our entity id and metadata address, for the identity "
                                                   "provider.")
    created_at: datetime
    updated_at: datetime


class ProviderList(BaseModel):
    items: list[ProviderOut]


class SsoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_sso: bool = Field(
        False, description="Members sign in through a provider; only the owner (break-glass) uses a password.")
    require_mfa_local: bool = Field(
        False, description="Accounts signing in with a password need two-factor sign-in (TOTP).")


class SsoSettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_sso: bool | None = None
    require_mfa_local: bool | None = None


class ProviderTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(None, max_length=320,
                                 description="LDAP: a person to look up (email or account name) with their groups.")
    password: SecretStr | None = Field(None, description="LDAP: also check this person's password by binding.")


class ProviderTestStep(BaseModel):
    ok: bool
    step: str = Field(description="What was tried, e.g. 'connect', 'service bind', 'find user'.")
    message: str = Field(description="What happened, in words.")


class ProviderTestOut(BaseModel):
    ok: bool
    summary: str
    steps: list[ProviderTestStep]
    user: dict[str, Any] | None = Field(None, description="LDAP: the person found (dn, email, name, groups).")
    role: str | None = Field(None, description="The role the mapping rules would give that person (null: refused).")


class SignInMethod(BaseModel):
    kind: Literal["password", "ldap", "oidc", "saml"]
    provider_id: UUID | None = None
    name: str = Field(description="What the sign-in screen shows, e.g. 'Password' or 'Plant AD'.")
    device_flow: bool = Field(False, description="Signs in a terminal by a code entered on a phone or PC.")


class AuthConfig(BaseModel):
    """What the sign-in screen offers (public)."""

    installation: Literal["single_company", "multi_company"] = Field(
        description="single_company: an on-prem install serving one company; multi_company: hosted for several.")
    self_registration: bool = Field(description="New accounts may register themselves.")
    email_domain: str | None = Field(None, description="The domain of the email asked about.")
    company_name: str | None = Field(None, description="The company whose provider serves that domain.")
    methods: list[SignInMethod] = Field(
        description="In the order to offer them; 'password' is listed when a local password may be used.")
    password_note: str | None = Field(None, description="Why a password is limited, in words (e.g. SSO required).")


class LdapSignInBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    provider_id: UUID | None = Field(None, description="Unset: the provider routed for the email's domain.")


class AuthConfigQuery(BaseModel):
    email: str | None = Field(None, max_length=320, description="Offer the sign-in methods for this email's domain.")
