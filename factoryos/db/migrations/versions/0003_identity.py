"""Identity: users, company profiles, memberships, invites, sessions, refresh tokens.

Revision ID: 0003_identity
Revises: 0002_audit

Two questions cross tenants and cannot be answered through the tenant policy: "which
companies is this user in?" (login) and "which company issued this invite code?"
(accept). FORCE RLS applies to the table owner too, so each gets a private global
directory (no grants to the app role; kept in step by triggers) and one narrow
SECURITY DEFINER function. The membership function then reads each company's rows
*through* the policy by setting that company as the tenant.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from factoryos.db.migrations.helpers_v1 import APP_ROLE, create_tenant_table, grant_global

revision = "0003_identity"
down_revision = "0002_audit"
branch_labels = None
depends_on = None

ROLES = ("owner", "admin", "plant_manager", "supervisor", "estimator", "operator", "read_only")
SIZES = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1000+")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    kw = {"server_default": sa.func.now()} if default else {}
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


SYNC_MEMBERSHIP_FN = """
create function identity_sync_membership_directory() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op in ('DELETE', 'UPDATE') then
    delete from public.membership_directory where user_id = old.user_id and company_id = old.tenant_id;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.membership_directory (user_id, company_id) values (new.user_id, new.tenant_id)
    on conflict do nothing;
  end if;
  return null;
end $$
"""

SYNC_INVITE_FN = """
create function identity_sync_invite_directory() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op in ('DELETE', 'UPDATE') then
    delete from public.invite_directory where code_hash = old.code_hash and company_id = old.tenant_id;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.invite_directory (code_hash, company_id) values (new.code_hash, new.tenant_id)
    on conflict do nothing;
  end if;
  return null;
end $$
"""

# Only (company, name, role) of one user; each company's rows are read under its own tenant
# setting, and the caller's setting is restored before returning.
USER_COMPANIES_FN = """
create function identity_user_companies(p_user uuid)
returns table (tenant_id uuid, company_name text, role text)
language plpgsql volatile security definer set search_path = '' as $$
declare
  saved text := coalesce(current_setting('app.tenant_id', true), '');
  company uuid;
begin
  for company in
    select d.company_id from public.membership_directory d where d.user_id = p_user order by d.company_id
  loop
    perform set_config('app.tenant_id', company::text, true);
    return query
      select c.tenant_id, c.name::text, m.role::text
      from public.companies c join public.memberships m on m.tenant_id = c.tenant_id
      where c.tenant_id = company and m.user_id = p_user;
  end loop;
  perform set_config('app.tenant_id', saved, true);
end $$
"""

INVITE_COMPANY_FN = """
create function identity_invite_company(p_code_hash text) returns setof uuid
language sql stable security definer set search_path = '' as $$
  select d.company_id from public.invite_directory d where d.code_hash = p_code_hash
$$
"""


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200)),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'active'")),
        sa.Column("totp_secret", sa.Text),
        sa.Column("totp_enabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("totp_last_step", sa.BigInteger),
        sa.Column("recovery_code_hashes", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        _ts("password_changed_at", default=True, nullable=False),
        _ts("last_login_at"),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        sa.CheckConstraint("position('@' in email) > 1", name="ck_users_email"),
        sa.CheckConstraint("display_name is null or length(btrim(display_name)) >= 2", name="ck_users_display_name"),
        sa.CheckConstraint(_in("status", ("active", "disabled")), name="ck_users_status"),
        sa.CheckConstraint("not totp_enabled or totp_secret is not null", name="ck_users_totp"),
    )
    op.execute("create unique index uq_users_email_lower on users (lower(email))")
    grant_global(op, "users", "SELECT, INSERT, UPDATE")

    op.create_table(
        "login_throttle",
        sa.Column("key", sa.CHAR(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default=sa.text("0")),
        _ts("first_failed_at"),
        _ts("locked_until"),
        _ts("updated_at", default=True, nullable=False),
    )
    grant_global(op, "login_throttle", "SELECT, INSERT, UPDATE, DELETE")

    # Private directories: RLS on with no policy and no grants, so only their owner reads them.
    op.create_table(
        "membership_directory",
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("company_id", sa.Uuid, sa.ForeignKey("companies.tenant_id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "invite_directory",
        sa.Column("code_hash", sa.CHAR(64), primary_key=True),
        sa.Column("company_id", sa.Uuid, sa.ForeignKey("companies.tenant_id", ondelete="CASCADE"), primary_key=True),
    )
    for table in ("membership_directory", "invite_directory"):
        op.execute(f"alter table {table} enable row level security")
        op.execute(f"revoke all on {table} from public, {APP_ROLE}")

    create_tenant_table(
        op,
        "company_profiles",
        sa.Column("industry", sa.String(100), nullable=False),
        sa.Column("company_size", sa.String(16), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("default_currency", sa.CHAR(3), nullable=False),
        sa.Column("timezone", sa.String(64)),
        _ts("created_at", default=True, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_company_profiles"),
        sa.CheckConstraint(_in("company_size", SIZES), name="ck_company_profiles_size"),
        sa.CheckConstraint("default_currency ~ '^[A-Z]{3}$'", name="ck_company_profiles_currency"),
        sa.CheckConstraint(
            "timezone is null or timezone(timezone, timestamptz '2000-01-01') is not null",
            name="ck_company_profiles_timezone",
        ),
        grants="SELECT, INSERT, UPDATE",
    )

    create_tenant_table(
        op,
        "memberships",
        _id(),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("granted", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("denied", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("invited_by", sa.Uuid, sa.ForeignKey("users.id")),
        _ts("joined_at", default=True, nullable=False),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_memberships_tenant_user"),
        sa.CheckConstraint(_in("role", ROLES), name="ck_memberships_role"),
    )
    # Exactly one owner per company: the index makes a second one impossible, even under races.
    op.execute("create unique index uq_memberships_one_owner on memberships (tenant_id) where role = 'owner'")
    op.execute(SYNC_MEMBERSHIP_FN)
    op.execute(
        "create trigger memberships_directory after insert or update of user_id, tenant_id or delete "
        "on memberships for each row execute function identity_sync_membership_directory()"
    )

    create_tenant_table(
        op,
        "invites",
        _id(),
        sa.Column("code_hash", sa.CHAR(64), nullable=False),
        sa.Column("code_prefix", sa.String(4), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        _ts("created_at", default=True, nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        sa.Column("used_by", sa.Uuid, sa.ForeignKey("users.id")),
        _ts("revoked_at"),
        sa.Column("revoked_by", sa.Uuid, sa.ForeignKey("users.id")),
        sa.UniqueConstraint("tenant_id", "code_hash", name="uq_invites_tenant_code_hash"),
        sa.CheckConstraint(_in("role", ROLES[1:]), name="ck_invites_role"),
        sa.CheckConstraint("(used_at is null) = (used_by is null)", name="ck_invites_used"),
        grants="SELECT, INSERT, UPDATE",
    )
    op.create_index("ix_invites_tenant_created", "invites", ["tenant_id", "created_at"])
    op.execute(SYNC_INVITE_FN)
    op.execute(
        "create trigger invites_directory after insert or update of code_hash, tenant_id or delete "
        "on invites for each row execute function identity_sync_invite_directory()"
    )

    create_tenant_table(
        op,
        "auth_sessions",
        _id(),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        _ts("created_at", default=True, nullable=False),
        _ts("last_used_at", default=True, nullable=False),
        _ts("expires_at", nullable=False),
        _ts("revoked_at"),
        sa.Column("revoked_reason", sa.String(40)),
        sa.Column("client_ip", sa.String(64)),
        sa.Column("user_agent", sa.String(400)),
        grants="SELECT, INSERT, UPDATE",
    )
    op.create_index("ix_auth_sessions_tenant_user", "auth_sessions", ["tenant_id", "user_id"])

    create_tenant_table(
        op,
        "refresh_tokens",
        _id(),
        sa.Column("session_id", sa.Uuid, sa.ForeignKey("auth_sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.CHAR(64), nullable=False),
        _ts("created_at", default=True, nullable=False),
        _ts("used_at"),
        sa.UniqueConstraint("tenant_id", "token_hash", name="uq_refresh_tokens_tenant_hash"),
        grants="SELECT, INSERT, UPDATE",
    )

    for fn in (USER_COMPANIES_FN, INVITE_COMPANY_FN):
        op.execute(fn)
    for signature in ("identity_user_companies(uuid)", "identity_invite_company(text)"):
        op.execute(f"revoke all on function {signature} from public")
        op.execute(f"grant execute on function {signature} to {APP_ROLE}")
    for signature in ("identity_sync_membership_directory()", "identity_sync_invite_directory()"):
        op.execute(f"revoke all on function {signature} from public")


def downgrade() -> None:
    op.execute("drop function identity_invite_company(text)")
    op.execute("drop function identity_user_companies(uuid)")
    op.drop_table("refresh_tokens")
    op.drop_table("auth_sessions")
    op.drop_table("invites")
    op.execute("drop function identity_sync_invite_directory()")
    op.drop_table("memberships")
    op.execute("drop function identity_sync_membership_directory()")
    op.drop_table("company_profiles")
    op.drop_table("invite_directory")
    op.drop_table("membership_directory")
    op.drop_table("login_throttle")
    op.drop_table("users")
