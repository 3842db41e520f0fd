"""Identity: global accounts, per-company members, invites, login sessions.

`users`, `login_throttle` and the two lookup directories are global; the directories are
not granted to the app role at all and are read only through SECURITY DEFINER functions
(see migration 0003_identity).
"""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CHAR,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)

from factoryos.schema.base import metadata


def _created() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("email", String(320), nullable=False),
    Column("display_name", String(200)),
    Column("password_hash", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'active'")),
    Column("totp_secret", Text),
    Column("totp_enabled", Boolean, nullable=False, server_default=text("false")),
    Column("totp_last_step", BigInteger),
    Column("recovery_code_hashes", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("password_changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_login_at", DateTime(timezone=True)),
    # Set on the server host only: backups, restores and the license span every company.
    Column("installation_admin", Boolean, nullable=False, server_default=text("false")),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", CHAR(64), primary_key=True),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("first_failed_at", DateTime(timezone=True)),
    Column("locked_until", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

membership_directory = Table(
    "membership_directory",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("company_id", Uuid, ForeignKey("companies.tenant_id", ondelete="CASCADE"), primary_key=True),
)

invite_directory = Table(
    "invite_directory",
    metadata,
    Column("code_hash", CHAR(64), primary_key=True),
    Column("company_id", Uuid, ForeignKey("companies.tenant_id", ondelete="CASCADE"), primary_key=True),
)

company_profiles = Table(
    "company_profiles",
    metadata,
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), primary_key=True),
    Column("industry", String(100), nullable=False),
    Column("company_size", String(16), nullable=False),
    Column("city", String(100), nullable=False),
    Column("default_currency", CHAR(3), nullable=False),
    Column("timezone", String(64)),
    _created(),
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("role", String(32), nullable=False),
    Column("granted", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("denied", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("invited_by", Uuid, ForeignKey("users.id")),
    Column("site_ids", ARRAY(Uuid)),  # NULL: every site; else only these (0021)
    Column("machine_ids", ARRAY(Uuid)),  # NULL: every machine of those sites; else only these (0025)
    Column("joined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

invites = Table(
    "invites",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False),
    Column("code_hash", CHAR(64), nullable=False),
    Column("code_prefix", String(4), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_by", Uuid, ForeignKey("users.id"), nullable=False),
    _created(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("used_by", Uuid, ForeignKey("users.id")),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Uuid, ForeignKey("users.id")),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    _created(),
    Column("last_used_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_reason", String(40)),
    Column("client_ip", String(64)),
    Column("user_agent", String(400)),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False),
    Column("session_id", Uuid, ForeignKey("auth_sessions.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", CHAR(64), nullable=False),
    _created(),
    Column("used_at", DateTime(timezone=True)),
)
