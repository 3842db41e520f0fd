"""Connectivity: per-machine connection settings and health, and the poller's company directory.

Revision ID: 0005_connectivity
Revises: 0004_production

The poller serves every company but runs as the app role, under RLS like any request:
it needs to know which companies have connected machines before it can read each one's
settings inside that company's tenant transaction. A private global directory (RLS on,
no policy, no grants; kept in step by a trigger) answers that through one narrow
SECURITY DEFINER function that returns company ids only.

Passwords (OPC-UA user, private key) are stored encrypted with a key derived from the
server secret; the endpoint JSON never holds them.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.db.migrations.helpers_v1 import APP_ROLE, create_tenant_table

revision = "0005_connectivity"
down_revision = "0004_production"
branch_labels = None
depends_on = None

SYNC_DIRECTORY_FN = """
create function connectivity_sync_directory() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op in ('DELETE', 'UPDATE') then
    delete from public.connection_directory where machine_id = old.machine_id;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.connection_directory (machine_id, company_id) values (new.machine_id, new.tenant_id)
    on conflict (machine_id) do update set company_id = excluded.company_id;
  end if;
  return null;
end $$
"""

COMPANIES_FN = """
create function connectivity_companies() returns setof uuid
language sql stable security definer set search_path = '' as $$
  select distinct d.company_id from public.connection_directory d order by 1
$$
"""


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    kw = {"server_default": sa.func.now()} if default else {}
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def upgrade() -> None:
    create_tenant_table(
        op,
        "machine_connections",
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("protocol", sa.String(8), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("poll_interval", sa.Float, nullable=False, server_default=sa.text("1.0")),
        sa.Column("endpoint", JSONB, nullable=False),
        sa.Column("signals", JSONB, nullable=False),
        sa.Column("password_encrypted", sa.Text),
        sa.Column("key_password_encrypted", sa.Text),
        # Health, as last reported by the poller.
        _ts("last_ok_at"),
        sa.Column("last_error", sa.Text),
        sa.Column("error_code", sa.String(60)),
        _ts("health_at"),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "machine_id", name="pk_machine_connections"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "machine_id"], ["machines.tenant_id", "machines.id"],
            name="fk_machine_connections_machine", ondelete="CASCADE",
        ),
        sa.CheckConstraint("protocol in ('modbus', 'opcua')", name="ck_machine_connections_protocol"),
        sa.CheckConstraint("poll_interval >= 0.05 and poll_interval <= 3600", name="ck_machine_connections_interval"),
        sa.CheckConstraint(
            "jsonb_typeof(endpoint) = 'object' and jsonb_typeof(signals) = 'object'",
            name="ck_machine_connections_json",
        ),
    )

    op.create_table(
        "connection_directory",
        sa.Column("machine_id", sa.Uuid, primary_key=True),
        sa.Column("company_id", sa.Uuid, sa.ForeignKey("companies.tenant_id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_connection_directory_company", "connection_directory", ["company_id"])
    op.execute("alter table connection_directory enable row level security")
    op.execute(f"revoke all on connection_directory from public, {APP_ROLE}")

    op.execute(SYNC_DIRECTORY_FN)
    op.execute(
        "create trigger machine_connections_directory after insert or update of machine_id, tenant_id or delete "
        "on machine_connections for each row execute function connectivity_sync_directory()"
    )
    op.execute("revoke all on function connectivity_sync_directory() from public")
    op.execute(COMPANIES_FN)
    op.execute("revoke all on function connectivity_companies() from public")
    op.execute(f"grant execute on function connectivity_companies() to {APP_ROLE}")


def downgrade() -> None:
    op.execute("drop function connectivity_companies()")
    op.drop_table("machine_connections")
    op.execute("drop function connectivity_sync_directory()")
    op.drop_table("connection_directory")
