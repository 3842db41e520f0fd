"""Audit trail: append-only, monthly partitions, hash chain heads per tenant.

Revision ID: 0002_audit
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

from factoryos.db.migrations.helpers_v1 import APP_ROLE, TENANT_PREDICATE, create_tenant_table, enable_tenant_rls

revision = "0002_audit"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

# Raised for every role, the owner included: the log is write-once at the database level.
DENY_FN = """
create function audit_log_deny() returns trigger language plpgsql set search_path = '' as $$
begin
  raise exception 'audit_log is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end $$
"""

# SECURITY DEFINER so the app role can keep partitions ahead without owning the table.
# Each partition gets RLS and a TRUNCATE trigger of its own (neither is inherited).
PARTITIONS_FN = """
create function audit_ensure_partitions(months_ahead int default 12) returns int
language plpgsql security definer set search_path = '' as $$
declare
  m date;
  part text;
  made int := 0;
begin
  if months_ahead < 0 or months_ahead > 120 then
    raise exception 'months_ahead must be between 0 and 120';
  end if;
  for m in
    select generate_series(date_trunc('month', now() - interval '1 month'),
                           date_trunc('month', now()) + make_interval(months => months_ahead),
                           interval '1 month')::date
  loop
    part := 'audit_log_' || to_char(m, 'YYYY_MM');
    if to_regclass('public.' || part) is null then
      execute format('create table public.%I partition of public.audit_log for values from (%L) to (%L)',
                     part, m, (m + interval '1 month')::date);
      perform public.audit_protect_partition(part);
      made := made + 1;
    end if;
  end loop;
  return made;
end $$
"""

_PREDICATE_LITERAL = TENANT_PREDICATE.replace("'", "''")  # inside a plpgsql string literal

PROTECT_FN = f"""
create function audit_protect_partition(part text) returns void
language plpgsql security definer set search_path = '' as $$
begin
  execute format('alter table public.%I enable row level security', part);
  execute format('alter table public.%I force row level security', part);
  execute format('create policy tenant_isolation on public.%I using ({_PREDICATE_LITERAL}) with check ({_PREDICATE_LITERAL})', part);
  execute format('create trigger audit_log_no_truncate before truncate on public.%I '
                 'for each statement execute function public.audit_log_deny()', part);
end $$
"""


def upgrade() -> None:
    op.execute(DENY_FN)
    op.execute(
        """
        create table audit_log (
          id uuid not null default gen_random_uuid(),
          tenant_id uuid not null references companies (tenant_id),
          seq bigint not null,
          ts timestamptz not null,
          actor_id uuid,
          action text not null,
          entity_type text not null,
          entity_id text,
          before jsonb,
          after jsonb,
          client_ip text,
          user_agent text,
          request_id text,
          prev_hash char(64) not null,
          row_hash char(64) not null,
          constraint pk_audit_log primary key (tenant_id, seq, ts),
          constraint ck_audit_log_action check (action ~ '^[a-z][a-z_]{1,39}$'),
          constraint ck_audit_log_seq check (seq > 0)
        ) partition by range (ts)
        """
    )
    op.execute("create index ix_audit_log_tenant_ts on audit_log (tenant_id, ts)")
    op.execute("create index ix_audit_log_tenant_entity on audit_log (tenant_id, entity_type, entity_id)")
    enable_tenant_rls(op, "audit_log", grants="SELECT, INSERT")
    op.execute(
        "create trigger audit_log_no_update_delete before update or delete on audit_log "
        "for each row execute function audit_log_deny()"
    )
    op.execute(
        "create trigger audit_log_no_truncate before truncate on audit_log "
        "for each statement execute function audit_log_deny()"
    )
    op.execute(PROTECT_FN)
    op.execute(PARTITIONS_FN)
    op.execute("revoke all on function audit_protect_partition(text) from public")
    op.execute("revoke all on function audit_ensure_partitions(int) from public")
    op.execute(f"grant execute on function audit_ensure_partitions(int) to {APP_ROLE}")
    # A catch-all so a clock far off the prepared range never loses a row.
    op.execute("create table audit_log_default partition of audit_log default")
    op.execute("select audit_protect_partition('audit_log_default')")
    op.execute("select audit_ensure_partitions(24)")

    create_tenant_table(
        op,
        "audit_chain_heads",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("row_hash", sa.CHAR(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_audit_chain_heads"),
        grants="SELECT, INSERT, UPDATE",
    )


def downgrade() -> None:
    op.drop_table("audit_chain_heads")
    op.execute("drop table audit_log cascade")
    op.execute("drop function audit_ensure_partitions(int)")
    op.execute("drop function audit_protect_partition(text)")
    op.execute("drop function audit_log_deny()")
