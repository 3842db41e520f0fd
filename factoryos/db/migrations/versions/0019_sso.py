"""Identity providers, group-to-role mapping and external identities.

Revision ID: 0019_sso
Revises: 0018_materials

Per company: identity providers (LDAP/AD, OIDC, SAML) with their settings as JSON and one
secret (a bind or client secret) encrypted with a key derived from the server secret; the
ordered rules mapping a directory group to a role; the external identities (provider,
subject) linked to accounts; the company's sign-in options.

The sign-in screen routes an email to its company's provider before anyone is signed in, so
"which company serves this domain?" crosses tenants: as for memberships (0003), a private
global directory kept in step by a trigger answers it through one narrow SECURITY DEFINER
function. The trigger also refuses a domain another company already routes (a company must
not capture another's staff at the sign-in screen).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from factoryos.db.migrations.helpers_v1 import APP_ROLE, create_tenant_table

revision = "0019_sso"
down_revision = "0018_materials"
branch_labels = None
depends_on = None

KINDS = ("ldap", "oidc", "saml")
ROLES = ("owner", "admin", "plant_manager", "supervisor", "estimator", "operator", "read_only")
MAPPED_ROLES = tuple(r for r in ROLES if r != "owner")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _provider_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", "provider_id"], ["sso_providers.tenant_id", "sso_providers.id"],
                                   name=name, ondelete="CASCADE")


SYNC_DOMAINS_FN = """
create function sso_sync_domain_directory() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  d text;
begin
  if tg_op in ('DELETE', 'UPDATE') then
    delete from public.sso_domain_directory where provider_id = old.id and company_id = old.tenant_id;
  end if;
  if tg_op in ('INSERT', 'UPDATE') and new.enabled then
    foreach d in array new.email_domains loop
      if exists (select 1 from public.sso_domain_directory x where x.domain = d and x.company_id <> new.tenant_id) then
        raise exception 'email domain % is routed by another company', d
          using errcode = 'unique_violation', constraint = 'uq_sso_domain_company';
      end if;
      insert into public.sso_domain_directory (domain, company_id, provider_id) values (d, new.tenant_id, new.id)
      on conflict do nothing;
    end loop;
  end if;
  return null;
end $$
"""

DOMAIN_PROVIDERS_FN = """
create function sso_domain_providers(p_domain text) returns table (company_id uuid, provider_id uuid)
language sql stable security definer set search_path = '' as $$
  select d.company_id, d.provider_id from public.sso_domain_directory d where d.domain = lower(p_domain)
$$
"""

# How many companies the server serves (the sign-in screen says single- or multi-company); every
# company has its owner's row in the private membership directory.
COMPANY_COUNT_FN = """
create function sso_company_count() returns bigint
language sql stable security definer set search_path = '' as $$
  select count(distinct d.company_id) from public.membership_directory d
$$
"""


def upgrade() -> None:
    create_tenant_table(
        op,
        "sso_providers",
        _id(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("email_domains", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("config", JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("secret_encrypted", sa.Text),  # Fernet; never returned
        # Who matches no rule: this role, or (null) refused.
        sa.Column("default_role", sa.String(32)),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_sso_providers_tenant_name"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_sso_providers_tenant_id"),
        sa.CheckConstraint(_in("kind", KINDS), name="ck_sso_providers_kind"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_sso_providers_name"),
        sa.CheckConstraint(f"default_role is null or {_in('default_role', MAPPED_ROLES)}",
                           name="ck_sso_providers_default_role"),
    )
    create_tenant_table(
        op,
        "sso_mapping_rules",
        _id(),
        sa.Column("provider_id", sa.Uuid, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("group_name", sa.String(500), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("granted", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("denied", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        _provider_fk("fk_sso_mapping_rules_provider"),
        sa.UniqueConstraint("tenant_id", "provider_id", "position", name="uq_sso_mapping_rules_position"),
        sa.CheckConstraint("position > 0", name="ck_sso_mapping_rules_position"),
        sa.CheckConstraint("length(btrim(group_name)) > 0", name="ck_sso_mapping_rules_group"),
        sa.CheckConstraint(_in("role", MAPPED_ROLES), name="ck_sso_mapping_rules_role"),
    )
    create_tenant_table(
        op,
        "sso_identities",
        _id(),
        sa.Column("provider_id", sa.Uuid, nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("groups", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        _ts("last_sign_in_at"),
        _ts("created_at", default=True, nullable=False),
        _provider_fk("fk_sso_identities_provider"),
        sa.UniqueConstraint("tenant_id", "provider_id", "subject", name="uq_sso_identities_subject"),
        sa.UniqueConstraint("tenant_id", "provider_id", "user_id", name="uq_sso_identities_user"),
    )
    op.create_index("ix_sso_identities_user", "sso_identities", ["tenant_id", "user_id"])
    create_tenant_table(
        op,
        "sso_settings",
        sa.Column("require_sso", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("require_mfa_local", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _ts("updated_at", default=True, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_sso_settings"),
        grants="SELECT, INSERT, UPDATE",
    )

    # Private directory: RLS on with no policy and no grants, so only its owner reads it.
    op.create_table(
        "sso_domain_directory",
        sa.Column("domain", sa.Text, primary_key=True),
        sa.Column("provider_id", sa.Uuid, primary_key=True),
        sa.Column("company_id", sa.Uuid, sa.ForeignKey("companies.tenant_id", ondelete="CASCADE"), nullable=False),
    )
    op.execute("alter table sso_domain_directory enable row level security")
    op.execute(f"revoke all on sso_domain_directory from public, {APP_ROLE}")
    op.execute(SYNC_DOMAINS_FN)
    op.execute(
        "create trigger sso_providers_domain_directory after insert or update of enabled, email_domains, tenant_id "
        "or delete on sso_providers for each row execute function sso_sync_domain_directory()"
    )
    op.execute(DOMAIN_PROVIDERS_FN)
    op.execute(f"grant execute on function sso_domain_providers(text) to {APP_ROLE}")
    op.execute(COMPANY_COUNT_FN)
    op.execute(f"grant execute on function sso_company_count() to {APP_ROLE}")


def downgrade() -> None:
    op.execute("drop function sso_company_count()")
    op.execute("drop function sso_domain_providers(text)")
    op.execute("drop trigger sso_providers_domain_directory on sso_providers")
    op.execute("drop function sso_sync_domain_directory()")
    op.drop_table("sso_domain_directory")
    op.drop_table("sso_settings")
    op.drop_table("sso_identities")
    op.drop_table("sso_mapping_rules")
    op.drop_table("sso_providers")
