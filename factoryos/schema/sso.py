"""Single sign-on: identity providers, group-to-role rules, external identities, company options.

`sso_domain_directory` is global and private (no grants to the app role): read only through
the SECURITY DEFINER function `sso_domain_providers(domain)` (see migration 0019_sso).
"""

from sqlalchemy import ARRAY, CHAR, Boolean, Column, Integer, String, Table, Text, Uuid, text
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
    Column("site_ids", ARRAY(Uuid)),  # NULL: the rule gives every site (0021)
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

# SAML 2.0 (migration 0023_saml): accepted assertion ids until they expire (replay refusal), and
# a terminal's sign-in or a signature's re-authentication that a browser completes.
saml_assertions_used = Table(
    "saml_assertions_used",
    metadata,
    _tenant(primary_key=True),
    Column("provider_id", Uuid, primary_key=True),
    Column("assertion_id", String(256), primary_key=True),
    timestamp("expires_at", nullable=False),
    timestamp("used_at", nullable=False, default=True),
)

sso_handoffs = Table(
    "sso_handoffs",
    metadata,
    id_column(),
    _tenant(),
    Column("provider_id", Uuid, nullable=False),
    Column("purpose", String(16), nullable=False),  # sign_in | reauth
    Column("channel", String(16), nullable=False),  # device (a terminal polls) | browser
    Column("user_code", String(16), nullable=False),
    Column("user_id", Uuid),  # reauth: who must prove themselves
    Column("binding", String(128)),  # browser: sha256 of its cookie; reauth: the signature's nonce
    Column("request_id", String(256)),  # the AuthnRequest ID the response must answer
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("identity", JSONB),
    Column("refusal", JSONB),
    timestamp("expires_at", nullable=False),
    timestamp("created_at", nullable=False, default=True),
)

# SCIM provisioning (migration 0022_scim).
scim_tokens = Table(
    "scim_tokens",
    metadata,
    id_column(),
    _tenant(),
    Column("provider_id", Uuid, nullable=False),
    Column("token_hash", CHAR(64), nullable=False),
    Column("token_hint", String(12), nullable=False),
    Column("created_by", Uuid),
    timestamp("created_at", nullable=False, default=True),
    timestamp("ends_at"),
)

scim_users = Table(
    "scim_users",
    metadata,
    id_column(),
    _tenant(),
    Column("user_id", Uuid, nullable=False),
    Column("user_name", String(320), nullable=False),
    Column("external_id", String(500)),
    Column("given_name", String(200)),
    Column("family_name", String(200)),
    Column("display_name", String(200)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    timestamp("created_at", nullable=False, default=True),
    timestamp("updated_at", nullable=False, default=True),
)

scim_groups = Table(
    "scim_groups",
    metadata,
    id_column(),
    _tenant(),
    Column("display_name", String(256), nullable=False),
    Column("external_id", String(500)),
    Column("version", Integer, nullable=False, server_default=text("1")),
    timestamp("created_at", nullable=False, default=True),
    timestamp("updated_at", nullable=False, default=True),
)

scim_group_members = Table(
    "scim_group_members",
    metadata,
    _tenant(primary_key=True),
    Column("group_id", Uuid, primary_key=True),
    Column("scim_user_id", Uuid, primary_key=True),
)
