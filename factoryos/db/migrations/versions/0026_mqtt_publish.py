"""Publishing to a company's MQTT broker: one settings row per company, with its health.

Revision ID: 0026_mqtt_publish
Revises: 0025_machine_skills

The server publishes each machine's state, counts, running order and OEE to the broker a company
configures (Sparkplug B and/or a retained JSON topic tree). The row holds the broker (URL,
certificate paths, user name and the password encrypted with the key derived from the server
secret, as connection passwords are), what to publish and how often, and the publisher's health,
which the publisher writes so that every server process can answer `GET` with it.

The publisher runs in one server process and reads settings company by company under RLS; it
finds the companies through a private global directory kept by a trigger and one SECURITY
DEFINER function returning company ids only (as webhooks do, 0020).
"""

import sqlalchemy as sa
from alembic import op

from factoryos.db.migrations.helpers_v1 import APP_ROLE, enable_tenant_rls, tenant_column

revision = "0026_mqtt_publish"
down_revision = "0025_machine_skills"
branch_labels = None
depends_on = None

MODES = ("sparkplug", "tree", "both")
HEALTH = ("connecting", "connected", "error", "disabled")

SYNC_DIRECTORY_FN = """
create function mqtt_publish_sync_directory() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'DELETE' then
    delete from public.mqtt_publish_directory where company_id = old.tenant_id;
  else
    insert into public.mqtt_publish_directory (company_id) values (new.tenant_id)
    on conflict (company_id) do nothing;
  end if;
  return null;
end $$
"""

COMPANIES_FN = """
create function mqtt_publish_companies() returns setof uuid
language sql stable security definer set search_path = '' as $$
  select d.company_id from public.mqtt_publish_directory d order by 1
$$
"""


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def upgrade() -> None:
    op.create_table(
        "mqtt_publish_settings",
        tenant_column(primary_key=True),  # one row per company
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("username", sa.Text),
        sa.Column("password_encrypted", sa.Text),
        sa.Column("ca_certificate", sa.Text),
        sa.Column("client_certificate", sa.Text),
        sa.Column("client_private_key", sa.Text),
        sa.Column("mode", sa.String(10), nullable=False, server_default=sa.text("'both'")),
        sa.Column("group_id", sa.Text, nullable=False),
        sa.Column("edge_node_id", sa.Text, nullable=False),
        sa.Column("topic_prefix", sa.Text, nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False, server_default=sa.text("2")),
        sa.Column("oee_seconds", sa.Integer, nullable=False, server_default=sa.text("60")),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        # Written by the publisher (any process may answer GET with it).
        sa.Column("health", sa.String(12), nullable=False, server_default=sa.text("'connecting'")),
        sa.Column("last_error", sa.Text),
        sa.Column("error_code", sa.String(60)),
        _ts("last_connected_at"),
        _ts("last_published_at"),
        _ts("health_at"),
        sa.Column("updated_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_mqtt_publish_settings_updater")),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        sa.CheckConstraint("url ~ '^mqtts?://'", name="ck_mqtt_publish_settings_url"),
        sa.CheckConstraint("mode in (" + ", ".join(repr(m) for m in MODES) + ")", name="ck_mqtt_publish_settings_mode"),
        sa.CheckConstraint("health in (" + ", ".join(repr(h) for h in HEALTH) + ")",
                           name="ck_mqtt_publish_settings_health"),
        sa.CheckConstraint("interval_seconds between 1 and 3600 and oee_seconds between 5 and 3600",
                           name="ck_mqtt_publish_settings_periods"),
    )
    enable_tenant_rls(op, "mqtt_publish_settings")

    op.create_table("mqtt_publish_directory", sa.Column("company_id", sa.Uuid, primary_key=True))
    op.execute("alter table mqtt_publish_directory enable row level security")  # no policy, no grants: private
    op.execute(SYNC_DIRECTORY_FN)
    op.execute("revoke all on function mqtt_publish_sync_directory() from public")
    op.execute("create trigger mqtt_publish_directory_sync after insert or delete on mqtt_publish_settings "
               "for each row execute function mqtt_publish_sync_directory()")
    op.execute(COMPANIES_FN)
    op.execute("revoke all on function mqtt_publish_companies() from public")
    op.execute(f"grant execute on function mqtt_publish_companies() to {APP_ROLE}")


def downgrade() -> None:
    op.execute("drop function mqtt_publish_companies()")
    op.execute("drop trigger mqtt_publish_directory_sync on mqtt_publish_settings")
    op.execute("drop function mqtt_publish_sync_directory()")
    op.drop_table("mqtt_publish_directory")
    op.drop_table("mqtt_publish_settings")
