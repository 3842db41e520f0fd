"""Single sign-on: identity providers, group-to-role rules, external identities, company options.

`sso_domain_directory` is global and private (no grants to the app role): read only through
the SECURITY DEFINER function `sso_domain_providers(domain)` (see migration 0019_sso).
"""

from sqlalchemy import ARRAY, Boolean, Column, Integer, String, Table, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata
from factoryos.schema.columns import id_column, timestamp


def _tenant(primary_key: bool = False) -> Column:
    return Column("tenant_id", Uuid, nullable=False, primary_key=primary_key)


sso_providers = Table(
    "sso_providers",
    metadata,
    id_column(),
    _tenant(),
    Column("kind", String(8), nullable=False),  # ldap | oidc | saml
    Column("name", String(80), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("email_domains", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("config", JSONB, nullable=False, server_default=text("'{}'")),
    Column("secret_encrypted", Text),
    Column("default_role", String(32)),  # null: who matches no rule is refused
    timestamp("created_at", nullable=False, default=True),
    timestamp("updated_at", nullable=False, default=True),
)

sso_mapping_rules = Table(
    "sso_mapping_rules",
    metadata,
    id_column(),
    _tenant(),
    Column("provider_id", Uuid, nullable=False),
    Column("position", Integer, nullable=False),
    Column("group_name", String(500), nullable=False),
    Column("role", String(32), nullable=False),
    Column("granted", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("denied", ARRAY(Text), nullable=False, server_default=text("'{}'")),
)

sso_identities = Table(
    "sso_identities",
    metadata,
    id_column(),
    _tenant(),
    Column("provider_id", Uuid, nullable=False),
    Column("subject", String(500), nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("email", String(320), nullable=False),
    Column("groups", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    timestamp("last_sign_in_at"),
    timestamp("created_at", nullable=False, default=True),
)

sso_settings = Table(
    "sso_settings",
    metadata,
    _tenant(primary_key=True),
    Column("require_sso", Boolean, nullable=False, server_default=text("false")),
    Column("require_mfa_local", Boolean, nullable=False, server_default=text("false")),
    timestamp("updated_at", nullable=False, default=True),
)

sso_domain_directory = Table(
    "sso_domain_directory",
    metadata,
    Column("domain", Text, primary_key=True),
    Column("provider_id", Uuid, primary_key=True),
    Column("company_id", Uuid, nullable=False),
)
