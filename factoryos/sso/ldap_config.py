"""The settings of an LDAP / Active Directory provider (its `config` JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class LdapConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(min_length=1, max_length=10,
                            description="ldap:// or ldaps:// URLs, tried in order (failover).")
    directory: Literal["active_directory", "openldap"] = Field(
        "openldap", description="Active Directory resolves nested groups itself (matching rule in chain).")
    start_tls: bool = Field(False, description="Upgrade ldap:// connections with StartTLS.")
    ca_bundle: str | None = Field(None, max_length=200_000,
                                  description="PEM certificates that sign the directory's certificate.")
    timeout_seconds: float = Field(5.0, gt=0, le=60, description="Per connection attempt and per operation.")
    bind: Literal["service", "direct"] = Field(
        "service", description="service: a service account searches for the person, then their password is "
                               "checked by binding as them; direct: bind as the person via user_dn_template.")
    bind_dn: str | None = Field(None, max_length=1000, description="The service account (its password is the secret).")
    user_dn_template: str | None = Field(
        None, max_length=1000,
        description="Direct bind: e.g. 'uid={username},ou=people,dc=example,dc=com' or '{username}@corp.example'.")
    user_base: str = Field(min_length=1, max_length=1000, description="Where people are searched.")
    user_filter: str = Field("(mail={email})", max_length=1000,
                             description="{email} and {username} (the part before @) are escaped and filled in.")
    email_attribute: str = Field("mail", max_length=100)
    name_attribute: str = Field("displayName", max_length=100)
    subject_attribute: str = Field(
        "entryUUID", max_length=100,
        description="A stable id that survives renames: entryUUID (OpenLDAP) or objectGUID (AD).")
    groups: Literal["member_of", "group_search"] = Field(
        "member_of", description="member_of: read the person's memberOf; group_search: search groups naming them.")
    group_base: str | None = Field(None, max_length=1000, description="Where groups are searched.")
    group_filter: str = Field("(|(member={user_dn})(uniqueMember={user_dn}))", max_length=1000)
    group_name_attribute: str = Field("cn", max_length=100)
    nested: bool = Field(True, description="Include the groups of the person's groups.")
    max_nesting: int = Field(5, ge=1, le=20, description="OpenLDAP: how many levels of nesting are followed.")

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.lower().startswith(("ldap://", "ldaps://")):
                raise ValueError(f"{url!r} is not an ldap:// or ldaps:// URL")
        return urls

    @model_validator(mode="after")
    def _consistent(self) -> LdapConfig:
        if self.bind == "service" and not self.bind_dn:
            raise ValueError("a service bind needs bind_dn")
        if self.bind == "direct" and not self.user_dn_template:
            raise ValueError("a direct bind needs user_dn_template")
        if self.groups == "group_search" and not self.group_base:
            raise ValueError("a group search needs group_base")
        if self.start_tls and any(u.lower().startswith("ldaps://") for u in self.urls):
            raise ValueError("StartTLS is for ldap:// URLs; ldaps:// is encrypted already")
        return self

    @property
    def secure(self) -> bool:
        return self.start_tls or all(u.lower().startswith("ldaps://") for u in self.urls)
