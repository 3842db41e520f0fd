"""Signal rows: one set-based overlap check per insert statement; no company key on downtime events.

Revision ID: 0030_signal_overlap_set
Revises: 0029_state_close

State ingest inserts hundreds of machine intervals and downtime events per statement. The row
trigger of 0007 ran plpgsql, an advisory lock and an index query for each row (some 60 µs a row,
a third of a batch insert). For these two tables the check now runs once per statement, after
it: it locks the statement's machines (each once, in machine order, under the key the row
trigger uses, so it still serialises with updates and other writers), then one query steps back
from each new row's end through the (tenant, machine, started_at) index, as 0007 does row by
row. It reads the table as it is after the statement: the new rows see each other, and a writer
that waited for the lock sees what the other committed (a volatile function's query takes a
fresh snapshot). Updates keep the row trigger (0029: only when an interval moves or grows).
Production entries keep theirs: they arrive one at a time.

Downtime events also referenced `companies` on their own; their (tenant_id, machine_id) key
into `machines` implies it (as 0007 found for the signal tables). And machine intervals had two
indexes on (tenant_id, machine_id, started_at): the unique constraint's and a plain one; every
insert and every close of an interval wrote both. The partial index of open intervals stays (it
finds the one to close) but is no longer unique: two open intervals of a machine overlap, so the
check already refuses a second one, and it refuses it as an overlap (the unique index, checked as
each row went in, answered before the statement's check could).
"""

from alembic import op

revision = "0030_signal_overlap_set"
down_revision = "0029_state_close"
branch_labels = None
depends_on = None

TABLES = ("machine_state_intervals", "downtime_events")

# Static queries, one per table (plpgsql keeps their plans). Of the rows starting before a new
# row ends, only the one starting last can reach into it when none overlap: one backward index step.
# The end is computed in a subquery kept apart (`offset 0`): a `coalesce` in the index step's own
# condition is not leakproof, so under RLS it would only filter, walking the machine's later rows.
_CHECK = """
      select n.id, p.id into fresh, clash
      from (select id, tenant_id, machine_id, started_at, coalesce(ended_at, 'infinity') as bound
            from new_rows offset 0) n
      cross join lateral (
        select t.id, t.ended_at from public.{table} t
        where t.tenant_id = n.tenant_id and t.machine_id = n.machine_id and t.started_at < n.bound
          and t.id <> n.id
        order by t.started_at desc limit 1) p
      where coalesce(p.ended_at, 'infinity') > n.started_at
      limit 1;"""
SET_FN = f"""
create function signal_reject_overlap() returns trigger
language plpgsql volatile set search_path = '' as $$
declare
  fresh uuid;
  clash uuid;
begin
  perform pg_advisory_xact_lock(hashtextextended(tg_table_name || ':' || m.machine_id::text, 0))
  from (select distinct machine_id from new_rows order by machine_id) m;
  if tg_table_name = 'machine_state_intervals' then{_CHECK.format(table="machine_state_intervals")}
  elsif tg_table_name = 'downtime_events' then{_CHECK.format(table="downtime_events")}
  else
    raise exception 'signal_reject_overlap() does not know table %', tg_table_name;
  end if;
  if clash is not null then
    raise exception '% % overlaps % of the same machine', tg_table_name, fresh, clash
      using errcode = 'exclusion_violation', constraint = tg_table_name || '_no_overlap';
  end if;
  return null;
end $$
"""


def upgrade() -> None:
    op.execute(SET_FN)
    for table in TABLES:
        op.execute(f"drop trigger {table}_no_overlap on {table}")
        op.execute(f"create trigger {table}_no_overlap after insert on {table} referencing new table as new_rows "
                   "for each statement execute function signal_reject_overlap()")
    op.drop_constraint("fk_downtime_events_tenant_id_companies", "downtime_events", type_="foreignkey")
    op.drop_index("ix_machine_state_intervals_machine_time", "machine_state_intervals")
    op.execute("create index ix_machine_state_intervals_open on machine_state_intervals (tenant_id, machine_id) "
               "where ended_at is null")
    op.drop_index("uq_machine_state_intervals_open", "machine_state_intervals")


def downgrade() -> None:
    op.execute("create unique index uq_machine_state_intervals_open on machine_state_intervals "
               "(tenant_id, machine_id) where ended_at is null")
    op.drop_index("ix_machine_state_intervals_open", "machine_state_intervals")
    op.create_index("ix_machine_state_intervals_machine_time", "machine_state_intervals",
                    ["tenant_id", "machine_id", "started_at"])
    op.create_foreign_key("fk_downtime_events_tenant_id_companies", "downtime_events", "companies", ["tenant_id"],
                          ["tenant_id"], ondelete="RESTRICT")
    for table in TABLES:
        op.execute(f"drop trigger {table}_no_overlap on {table}")
        op.execute(f"create trigger {table}_no_overlap before insert on {table} "
                   "for each row execute function production_reject_overlap()")
    op.execute("drop function signal_reject_overlap()")
