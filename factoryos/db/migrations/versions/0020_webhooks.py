"""Signed webhooks: endpoints per company, an outbox of events, one delivery per endpoint and event.

Revision ID: 0020_webhooks
Revises: 0019_sso

An event is written in the same transaction as the fact it reports (a state change, an order's
status, ...) together with one pending delivery per enabled endpoint that subscribes to its type,
so a fact that rolls back sends nothing and one that commits is sent at least once. The server's
delivery worker reads due deliveries company by company (under RLS, like the poller): a private
global directory of the companies that have endpoints, kept by a trigger, answers through one
SECURITY DEFINER function that returns company ids only.

An endpoint's signing secret is stored encrypted with a key derived from the server secret; after
a rotation the previous one is kept (encrypted) for an overlap window, and deliveries carry both
signatures until it ends.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from factoryos.db.migrations.helpers_v1 import APP_ROLE, create_tenant_table

revision = "0020_webhooks"
down_revision = "0019_sso"
branch_labels = None
depends_on = None

DELIVERY_STATUSES = ("pending", "delivered", "failed")

SYNC_DIRECTORY_FN = """
create function webhook_sync_directory() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'DELETE' then
    delete from public.webhook_directory where endpoint_id = old.id;
  else
    insert into public.webhook_directory (endpoint_id, company_id) values (new.id, new.tenant_id)
    on conflict (endpoint_id) do nothing;
  end if;
  return null;
end $$
"""

COMPANIES_FN = """
create function webhook_companies() returns setof uuid
language sql stable security definer set search_path = '' as $$
  select distinct d.company_id from public.webhook_directory d order by 1
$$
"""


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def upgrade() -> None:
    create_tenant_table(
        op,
        "webhook_endpoints",
        _id(),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.String(200), nullable=False, server_default=sa.text("''")),
        sa.Column("events", ARRAY(sa.Text), nullable=False),
        sa.Column("secret_encrypted", sa.Text, nullable=False),
        # After a rotation the old secret signs too, until `previous_secret_until` (receivers switch over).
        sa.Column("previous_secret_encrypted", sa.Text),
        _ts("previous_secret_until"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_webhook_endpoints_creator")),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        sa.UniqueConstraint("tenant_id", "id", name="uq_webhook_endpoints_tenant_id"),
        sa.CheckConstraint("url ~ '^https?://'", name="ck_webhook_endpoints_url"),
        sa.CheckConstraint("cardinality(events) > 0", name="ck_webhook_endpoints_events"),
    )
    create_tenant_table(
        op,
        "webhook_events",
        _id(),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        _ts("occurred_at", nullable=False),
        _ts("created_at", default=True, nullable=False),
        sa.UniqueConstraint("tenant_id", "id", name="uq_webhook_events_tenant_id"),
        grants="SELECT, INSERT, DELETE",
    )
    create_tenant_table(
        op,
        "webhook_deliveries",
        _id(),
        sa.Column("endpoint_id", sa.Uuid, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        _ts("next_attempt_at", default=True, nullable=False),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        _ts("created_at", default=True, nullable=False),
        _ts("last_attempt_at"),
        _ts("delivered_at"),
        sa.ForeignKeyConstraint(["tenant_id", "endpoint_id"], ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
                                name="fk_webhook_deliveries_endpoint", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "event_id"], ["webhook_events.tenant_id", "webhook_events.id"],
                                name="fk_webhook_deliveries_event", ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "endpoint_id", "event_id", name="uq_webhook_deliveries_event"),
        sa.CheckConstraint("status in (" + ", ".join(repr(s) for s in DELIVERY_STATUSES) + ")",
                           name="ck_webhook_deliveries_status"),
    )
    # The worker's question: what is due now (pending only, oldest due first).
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["tenant_id", "next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_webhook_deliveries_log", "webhook_deliveries", ["tenant_id", "endpoint_id", "created_at"])

    op.create_table(
        "webhook_directory",
        sa.Column("endpoint_id", sa.Uuid, primary_key=True),
        sa.Column("company_id", sa.Uuid, nullable=False),
    )
    op.execute("alter table webhook_directory enable row level security")  # no policy, no grants: private
    op.execute(SYNC_DIRECTORY_FN)
    op.execute("revoke all on function webhook_sync_directory() from public")
    op.execute("create trigger webhook_directory_sync after insert or delete on webhook_endpoints "
               "for each row execute function webhook_sync_directory()")
    op.execute(COMPANIES_FN)
    op.execute("revoke all on function webhook_companies() from public")
    op.execute(f"grant execute on function webhook_companies() to {APP_ROLE}")


def downgrade() -> None:
    op.execute("drop function webhook_companies()")
    op.execute("drop trigger webhook_directory_sync on webhook_endpoints")
    op.execute("drop function webhook_sync_directory()")
    op.drop_table("webhook_directory")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_table("webhook_endpoints")
