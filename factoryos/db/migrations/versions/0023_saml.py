"""SAML 2.0 service provider (consumed assertion ids) and the browser hand-off of SSO sign-ins and
signature re-authentications.

Revision ID: 0023_saml
Revises: 0022_scim

`saml_assertions_used`: every accepted assertion's ID until its validity ends, so the same
signed assertion posted twice (a replay) is refused. `sso_handoffs`: a terminal's sign-in (or
a signature's re-authentication) that a browser completes at the server; the terminal polls it.
Both per company, under RLS.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0023_saml"
down_revision = "0022_scim"
branch_labels = None
depends_on = None


def _provider_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", "provider_id"], ["sso_providers.tenant_id", "sso_providers.id"],
                                   name=name, ondelete="CASCADE")


def upgrade() -> None:
    create_tenant_table(
        op,
        "saml_assertions_used",
        sa.Column("provider_id", sa.Uuid, nullable=False),
        sa.Column("assertion_id", sa.String(256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        _provider_fk("fk_saml_assertions_used_provider"),
        sa.PrimaryKeyConstraint("tenant_id", "provider_id", "assertion_id", name="pk_saml_assertions_used"),
        grants="SELECT, INSERT, DELETE",
    )
    op.create_index("ix_saml_assertions_used_expires", "saml_assertions_used", ["tenant_id", "expires_at"])
    create_tenant_table(
        op,
        "sso_handoffs",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("provider_id", sa.Uuid, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("user_code", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("binding", sa.String(128)),
        sa.Column("request_id", sa.String(256)),
        sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("identity", JSONB),
        sa.Column("refusal", JSONB),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        _provider_fk("fk_sso_handoffs_provider"),
        sa.UniqueConstraint("tenant_id", "provider_id", "user_code", name="uq_sso_handoffs_code"),
        sa.CheckConstraint("purpose in ('sign_in', 'reauth')", name="ck_sso_handoffs_purpose"),
        sa.CheckConstraint("channel in ('device', 'browser')", name="ck_sso_handoffs_channel"),
        sa.CheckConstraint("status in ('pending', 'done', 'refused', 'consumed')", name="ck_sso_handoffs_status"),
    )


def downgrade() -> None:
    op.drop_table("sso_handoffs")
    op.drop_table("saml_assertions_used")
