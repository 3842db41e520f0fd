"""Site edges: a process at a site that polls that site's machines and publishes to the broker.

Revision ID: 0027_edges
Revises: 0026_mqtt_publish

One row per registered edge, keyed by its site (site-scoped like the site's machines). The edge's
secret is stored only as a salted PBKDF2-SHA512 hash in the broker's own password-file format, so
one stored value both checks the edge's API calls and writes the broker's password file; the
secret is 256 random bits, so the hash's cost adds nothing and costs no time per call. A revoked
edge keeps its row (history, audit) with `revoked_at` set.
"""

import sqlalchemy as sa
from alembic import op

from factoryos.db.migrations.helpers_v1 import create_tenant_table
from factoryos.db.migrations.helpers_v2_site import disable_site_scope, enable_site_scope, key_in_scope

revision = "0027_edges"
down_revision = "0026_mqtt_publish"
branch_labels = None
depends_on = None


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def upgrade() -> None:
    create_tenant_table(
        op,
        "edges",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("site_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_edges_creator")),
        _ts("created_at", default=True, nullable=False),
        _ts("rotated_at"),
        _ts("revoked_at"),
        sa.ForeignKeyConstraint(["tenant_id", "site_id"], ["sites.tenant_id", "sites.id"], name="fk_edges_site"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_edges_tenant_id"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_edges_name"),
    )
    # One name per site among the edges in force (a revoked edge's name may be used again).
    op.create_index("uq_edges_site_name", "edges", ["tenant_id", "site_id", "name"], unique=True,
                    postgresql_where=sa.text("revoked_at is null"))
    enable_site_scope(op, "edges", key_in_scope("site_id", "site"))


def downgrade() -> None:
    disable_site_scope(op, "edges")
    op.drop_table("edges")
