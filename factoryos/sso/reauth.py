"""Proving one's identity again inside a session (electronic signatures) for people whose
password lives in the company's LDAP directory: they bind as themselves, as at sign-in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.identity.keys import DerivedKeys
from factoryos.schema.sso import sso_identities, sso_providers
from factoryos.sso.ldap import DirectoryRefused, DirectoryUnavailable, LdapDirectory
from factoryos.sso.ldap_config import LdapConfig
from factoryos.sso.registry import provider_secret


def directory_password_ok(conn: Connection, keys: DerivedKeys, tenant_id: UUID, user: Mapping[Any, Any],
                          password: str) -> bool | None:
    """True when `password` binds as `user` in an LDAP directory the user signs in through
    (the same person: the directory's subject matches their linked identity); False when it
    does not; None when the user signs in through no directory of this company. A directory
    that cannot be reached raises `DirectoryUnavailable` naming it: that is no wrong password."""
    rows = conn.execute(
        select(sso_identities.c.subject, sso_providers.c.name, sso_providers.c.config,
               sso_providers.c.secret_encrypted)
        .join(sso_providers, (sso_providers.c.tenant_id == sso_identities.c.tenant_id)
              & (sso_providers.c.id == sso_identities.c.provider_id))
        .where(sso_identities.c.tenant_id == tenant_id, sso_identities.c.user_id == user["id"],
               sso_providers.c.kind == "ldap", sso_providers.c.enabled)
    ).mappings().all()
    if not rows:
        return None
    down: DirectoryUnavailable | None = None
    for row in rows:
        directory = LdapDirectory(LdapConfig.model_validate(row["config"]), provider_secret(keys, row), row["name"])
        try:
            person = directory.authenticate(user["email"], password)
        except DirectoryUnavailable as exc:
            down = exc
            continue
        except DirectoryRefused:
            continue
        if person is not None and person.subject == row["subject"]:
            return True
    if down is not None:
        raise down
    return False
