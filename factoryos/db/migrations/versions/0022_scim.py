"""SCIM 2.0 provisioning: a company's bearer tokens, provisioned users and groups.

Revision ID: 0022_scim
Revises: 0021_site_scope

A SCIM client (Entra ID, Okta) calls with a bearer token and nothing else: the token names its
company (`scim_<company id>_<secret>`), so the server sets that tenant first and then looks the
token's SHA-256 up under row-level security like any tenant read (tokens are stored hashed, shown
once). A forged company id finds no token; no global table or cross-tenant function is needed.

Each token names the provider whose group → role rules apply to SCIM groups. A rotated token
keeps working until its `ends_at` (now, or after an overlap); the current one has none.
"""

import sqlalchemy as sa
from alembic import op

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0022_scim"
down_revision = "0021_site_scope"
branch_labels = None
depends_on = None


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def upgrade() -> None:
    create_tenant_table(
        op,
        "scim_tokens",
        _id(),
        sa.Column("provider_id", sa.Uuid, nullable=False),
        sa.Column("token_hash", sa.CHAR(64), nullable=False),  # SHA-256 hex of a 256-bit random token
        sa.Column("token_hint", sa.String(12), nullable=False),  # its first characters, to tell tokens apart
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL")),
        _ts("created_at", default=True, nullable=False),
        _ts("ends_at"),  # null: the current token
        sa.ForeignKeyConstraint(["tenant_id", "provider_id"], ["sso_providers.tenant_id", "sso_providers.id"],
                                name="fk_scim_tokens_provider", ondelete="CASCADE"),
        sa.UniqueConstraint("token_hash", name="uq_scim_tokens_hash"),
    )
    op.create_index("uq_scim_tokens_current", "scim_tokens", ["tenant_id"], unique=True,
                    postgresql_where=sa.text("ends_at is null"))
    create_tenant_table(
        op,
        "scim_users",
        _id(),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_name", sa.String(320), nullable=False),  # the account's email (unique without case)
        sa.Column("external_id", sa.String(500)),
        sa.Column("given_name", sa.String(200)),
        sa.Column("family_name", sa.String(200)),
        sa.Column("display_name", sa.String(200)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        sa.UniqueConstraint("tenant_id", "id", name="uq_scim_users_tenant_id"),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_scim_users_user"),
    )
    op.execute("create unique index uq_scim_users_user_name on scim_users (tenant_id, lower(user_name))")
    op.create_index("uq_scim_users_external_id", "scim_users", ["tenant_id", "external_id"], unique=True,
                    postgresql_where=sa.text("external_id is not null"))
    create_tenant_table(
        op,
        "scim_groups",
        _id(),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("external_id", sa.String(500)),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        sa.UniqueConstraint("tenant_id", "id", name="uq_scim_groups_tenant_id"),
        sa.CheckConstraint("length(btrim(display_name)) > 0", name="ck_scim_groups_display_name"),
    )
    op.execute("create unique index uq_scim_groups_display_name on scim_groups (tenant_id, lower(display_name))")
    create_tenant_table(
        op,
        "scim_group_members",
        sa.Column("group_id", sa.Uuid, nullable=False),
        sa.Column("scim_user_id", sa.Uuid, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "group_id", "scim_user_id", name="pk_scim_group_members"),
        sa.ForeignKeyConstraint(["tenant_id", "group_id"], ["scim_groups.tenant_id", "scim_groups.id"],
                                name="fk_scim_group_members_group", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "scim_user_id"], ["scim_users.tenant_id", "scim_users.id"],
                                name="fk_scim_group_members_user", ondelete="CASCADE"),
    )
    op.create_index("ix_scim_group_members_user", "scim_group_members", ["tenant_id", "scim_user_id"])


def downgrade() -> None:
    op.drop_table("scim_group_members")
    op.drop_table("scim_groups")
    op.drop_table("scim_users")
    op.drop_table("scim_tokens")
