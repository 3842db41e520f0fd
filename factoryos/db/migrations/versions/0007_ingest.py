"""Ingest: an interval overlap check that reads one row, no redundant company key on signal rows.

Revision ID: 0007_ingest
Revises: 0006_onboarding

The overlap trigger of 0004 (production entries, downtime events, state intervals) tested
the new interval against every interval of the machine: each insert cost O(intervals so
far). The intervals of a machine never overlap each other (this trigger is what keeps it
so), so of those starting before the new one ends, only the one starting last can reach
into it: one backward step of the (tenant, machine, started_at) index, O(log n). Its
queries are static, one per table, so their plans are kept rather than made per row.

Machine count buckets and state intervals also referenced `companies` on their own, but
their (tenant_id, machine_id) key into `machines` already implies it (machines.tenant_id
references companies, and a machine cannot go while rows point at it); the extra key only
cost a lookup per row ingested.
"""

from alembic import op

revision = "0007_ingest"
down_revision = "0006_onboarding"
branch_labels = None
depends_on = None

SIGNAL_TABLES = ("machine_count_buckets", "machine_state_intervals")

# Runs as the invoker, so RLS keeps the check inside the writer's tenant. Static queries, one
# pair per table (not `execute format(...)`), so plpgsql keeps their plans instead of planning
# per row; and the end bound is a plain parameter, which a kept (generic) plan can still use
# as an index condition (`coalesce(end, 'infinity')` it would only filter by).
_LAST_BEFORE_END = """
    if new.ended_at is null then
      select id, ended_at into clash, clash_end from public.{table}
      where tenant_id = new.tenant_id and machine_id = new.machine_id and id <> new.id
      order by started_at desc limit 1;
    else
      select id, ended_at into clash, clash_end from public.{table}
      where tenant_id = new.tenant_id and machine_id = new.machine_id and id <> new.id
        and started_at < new.ended_at
      order by started_at desc limit 1;
    end if;"""
NO_OVERLAP_FN = f"""
create or replace function production_reject_overlap() returns trigger
language plpgsql volatile set search_path = '' as $$
declare
  clash uuid;
  clash_end timestamptz;
begin
  perform pg_advisory_xact_lock(hashtextextended(tg_table_name || ':' || new.machine_id::text, 0));
  if tg_table_name = 'machine_state_intervals' then{_LAST_BEFORE_END.format(table="machine_state_intervals")}
  elsif tg_table_name = 'production_entries' then{_LAST_BEFORE_END.format(table="production_entries")}
  elsif tg_table_name = 'downtime_events' then{_LAST_BEFORE_END.format(table="downtime_events")}
  else
    raise exception 'production_reject_overlap() does not know table %', tg_table_name;
  end if;
  if clash is not null and coalesce(clash_end, 'infinity') > new.started_at then
    raise exception '% overlaps % of the same machine', tg_table_name, clash
      using errcode = 'exclusion_violation', constraint = tg_table_name || '_no_overlap';
  end if;
  return new;
end $$
"""

# 0004's version, for the way down.
SCANNING_FN = """
create or replace function production_reject_overlap() returns trigger
language plpgsql volatile set search_path = '' as $$
declare
  clash uuid;
begin
  perform pg_advisory_xact_lock(hashtextextended(tg_table_name || ':' || new.machine_id::text, 0));
  execute format(
    'select id from public.%I where tenant_id = $1 and machine_id = $2 and id <> $3 '
    'and tstzrange(started_at, coalesce(ended_at, ''infinity'')) && tstzrange($4, coalesce($5, ''infinity'')) '
    'limit 1', tg_table_name)
    into clash using new.tenant_id, new.machine_id, new.id, new.started_at, new.ended_at;
  if clash is not null then
    raise exception '% overlaps % of the same machine', tg_table_name, clash
      using errcode = 'exclusion_violation', constraint = tg_table_name || '_no_overlap';
  end if;
  return new;
end $$
"""


def upgrade() -> None:
    op.execute(NO_OVERLAP_FN)
    for table in SIGNAL_TABLES:
        op.drop_constraint(f"fk_{table}_tenant_id_companies", table, type_="foreignkey")


def downgrade() -> None:
    for table in SIGNAL_TABLES:
        op.create_foreign_key(f"fk_{table}_tenant_id_companies", table, "companies", ["tenant_id"], ["tenant_id"],
                              ondelete="RESTRICT")
    op.execute(SCANNING_FN)
