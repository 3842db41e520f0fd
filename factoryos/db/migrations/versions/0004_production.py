"""Plant, shifts, production, downtime, rejections, machine signals and the global catalog.

Revision ID: 0004_production
Revises: 0003_identity

References between tenant tables are composite foreign keys on (tenant_id, id), so a row
can never point at another company's row even by a guessed id (foreign key checks bypass
RLS). Time intervals of one machine must not overlap: btree_gist is not shipped with the
embedded PostgreSQL, so instead of an exclusion constraint a trigger serialises writers
per machine with a transaction advisory lock and rejects an overlap with SQLSTATE 23P01
(exclusion_violation), which is what an exclusion constraint would raise.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from factoryos.db.migrations.helpers_v1 import APP_ROLE, create_tenant_table

revision = "0004_production"
down_revision = "0003_identity"
branch_labels = None
depends_on = None

STATES = ("running", "idle", "planned_stop", "unplanned_stop", "setup", "offline")
BUCKETS = ("availability", "performance", "quality")
OVERLAP_TABLES = ("production_entries", "downtime_events", "machine_state_intervals")

# Runs as the invoker, so RLS keeps the check inside the writer's tenant.
NO_OVERLAP_FN = """
create function production_reject_overlap() returns trigger
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


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    kw = {"server_default": sa.func.now()} if default else {}
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def _created() -> sa.Column:
    return _ts("created_at", default=True, nullable=False)


def _updated() -> sa.Column:
    return _ts("updated_at", default=True, nullable=False)


def _fk(cols: list[str], table: str, ref: list[str], name: str, **kw) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(cols, [f"{table}.{c}" for c in ref], name=name, **kw)


def _machine_fk(table: str) -> sa.ForeignKeyConstraint:
    return _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], f"fk_{table}_machine")


def _interval_checks(table: str, *, open_allowed: bool) -> list[sa.CheckConstraint]:
    check = "ended_at > started_at" if not open_allowed else "ended_at is null or ended_at > started_at"
    return [sa.CheckConstraint(check, name=f"ck_{table}_interval")]


def upgrade() -> None:
    op.execute(NO_OVERLAP_FN)
    op.create_unique_constraint("uq_sites_tenant_id_id", "sites", ["tenant_id", "id"])

    # -- global catalog: readable by every company, written only by its author company --
    op.create_table(
        "catalog_entries",
        _id(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("category", sa.String(80), nullable=False),
        sa.Column("manufacturer", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("specs", JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("author_tenant_id", sa.Uuid, sa.ForeignKey("companies.tenant_id"), nullable=False),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id")),
        _created(),
        _updated(),
        sa.CheckConstraint(_in("kind", ("machine_model", "material")), name="ck_catalog_entries_kind"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_catalog_entries_name"),
    )
    op.execute(
        "create unique index uq_catalog_entries_identity on catalog_entries (kind, lower(manufacturer), lower(name))"
    )
    op.create_index("ix_catalog_entries_created", "catalog_entries", ["kind", "created_at", "id"])
    author = "author_tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)"
    op.execute("alter table catalog_entries enable row level security")
    op.execute("alter table catalog_entries force row level security")
    op.execute("create policy catalog_read on catalog_entries for select using (true)")
    op.execute(f"create policy catalog_insert on catalog_entries for insert with check ({author})")
    op.execute(f"create policy catalog_update on catalog_entries for update using ({author}) with check ({author})")
    op.execute(f"create policy catalog_delete on catalog_entries for delete using ({author})")
    op.execute(f"grant select, insert, update, delete on catalog_entries to {APP_ROLE}")

    # -- plant hierarchy --
    create_tenant_table(
        op,
        "areas",
        _id(),
        sa.Column("site_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        _created(),
        _fk(["tenant_id", "site_id"], "sites", ["tenant_id", "id"], "fk_areas_site"),
        sa.UniqueConstraint("tenant_id", "site_id", "code", name="uq_areas_tenant_site_code"),
        sa.UniqueConstraint("tenant_id", "site_id", "id", name="uq_areas_tenant_site_id"),
    )
    create_tenant_table(
        op,
        "lines",
        _id(),
        sa.Column("site_id", sa.Uuid, nullable=False),
        sa.Column("area_id", sa.Uuid),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        _created(),
        _fk(["tenant_id", "site_id"], "sites", ["tenant_id", "id"], "fk_lines_site"),
        _fk(["tenant_id", "site_id", "area_id"], "areas", ["tenant_id", "site_id", "id"], "fk_lines_area"),
        sa.UniqueConstraint("tenant_id", "site_id", "code", name="uq_lines_tenant_site_code"),
        sa.UniqueConstraint("tenant_id", "site_id", "id", name="uq_lines_tenant_site_id"),
    )
    create_tenant_table(
        op,
        "machines",
        _id(),
        sa.Column("site_id", sa.Uuid, nullable=False),
        sa.Column("line_id", sa.Uuid),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("ideal_cycle_seconds", sa.Numeric(14, 6), nullable=False),
        sa.Column("capacity_per_hour", sa.Numeric(14, 3)),
        sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'active'")),
        sa.Column("status_mapping", JSONB, nullable=False,
                  server_default=sa.text("""'{"codes": {}, "default": "unplanned_stop"}'""")),
        sa.Column("catalog_model_id", sa.Uuid, sa.ForeignKey("catalog_entries.id", name="fk_machines_catalog_model")),
        _created(),
        _updated(),
        _fk(["tenant_id", "site_id"], "sites", ["tenant_id", "id"], "fk_machines_site"),
        _fk(["tenant_id", "site_id", "line_id"], "lines", ["tenant_id", "site_id", "id"], "fk_machines_line"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_machines_tenant_code"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_machines_tenant_id"),
        sa.CheckConstraint("ideal_cycle_seconds > 0", name="ck_machines_cycle"),
        sa.CheckConstraint("capacity_per_hour is null or capacity_per_hour > 0", name="ck_machines_capacity"),
        sa.CheckConstraint(_in("status", ("active", "retired")), name="ck_machines_status"),
    )
    create_tenant_table(
        op,
        "site_operators",
        _id(),
        sa.Column("site_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", name="fk_site_operators_user"), nullable=False),
        _created(),
        _fk(["tenant_id", "site_id"], "sites", ["tenant_id", "id"], "fk_site_operators_site", ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "site_id", "user_id", name="uq_site_operators_tenant_site_user"),
    )

    # -- shifts --
    create_tenant_table(
        op,
        "shift_patterns",
        _id(),
        sa.Column("site_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("start_time", sa.Time, nullable=False),
        sa.Column("end_time", sa.Time, nullable=False),
        sa.Column("breaks", JSONB, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("weekdays", ARRAY(sa.SmallInteger), nullable=False, server_default=sa.text("'{0,1,2,3,4,5,6}'")),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        _created(),
        _updated(),
        _fk(["tenant_id", "site_id"], "sites", ["tenant_id", "id"], "fk_shift_patterns_site"),
        sa.UniqueConstraint("tenant_id", "site_id", "name", name="uq_shift_patterns_tenant_site_name"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_shift_patterns_tenant_id"),
    )
    create_tenant_table(
        op,
        "shift_instances",
        _id(),
        sa.Column("site_id", sa.Uuid, nullable=False),
        sa.Column("pattern_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("local_date", sa.Date, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breaks", JSONB, nullable=False, server_default=sa.text("'[]'")),
        _created(),
        _fk(["tenant_id", "site_id"], "sites", ["tenant_id", "id"], "fk_shift_instances_site"),
        _fk(["tenant_id", "pattern_id"], "shift_patterns", ["tenant_id", "id"], "fk_shift_instances_pattern"),
        sa.UniqueConstraint("tenant_id", "pattern_id", "local_date", name="uq_shift_instances_tenant_pattern_date"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_shift_instances_tenant_id"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_shift_instances_interval"),
    )
    op.create_index("ix_shift_instances_window", "shift_instances", ["tenant_id", "site_id", "starts_at"])

    # -- reason trees (downtime and rejections) --
    create_tenant_table(
        op,
        "loss_reasons",
        _id(),
        sa.Column("parent_id", sa.Uuid),
        sa.Column("level", sa.String(12), nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("loss_bucket", sa.String(16), nullable=False),
        sa.Column("planned", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        _created(),
        _fk(["tenant_id", "parent_id"], "loss_reasons", ["tenant_id", "id"], "fk_loss_reasons_parent"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_loss_reasons_tenant_code"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_loss_reasons_tenant_id"),
        sa.CheckConstraint(_in("level", ("category", "reason", "sub_reason")), name="ck_loss_reasons_level"),
        sa.CheckConstraint(_in("loss_bucket", BUCKETS), name="ck_loss_reasons_bucket"),
        sa.CheckConstraint("(level = 'category') = (parent_id is null)", name="ck_loss_reasons_parent"),
    )

    # -- plans and execution --
    create_tenant_table(
        op,
        "production_plans",
        _id(),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("shift_instance_id", sa.Uuid, nullable=False),
        sa.Column("target_quantity", sa.Integer, nullable=False),
        sa.Column("job_ref", sa.String(120)),
        sa.Column("product_ref", sa.String(120)),
        sa.Column("material_id", sa.Uuid, sa.ForeignKey("catalog_entries.id", name="fk_production_plans_material")),
        sa.Column("operator_ids", ARRAY(sa.Uuid), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id")),
        _created(),
        _updated(),
        _machine_fk("production_plans"),
        _fk(["tenant_id", "shift_instance_id"], "shift_instances", ["tenant_id", "id"], "fk_production_plans_shift"),
        sa.UniqueConstraint("tenant_id", "machine_id", "shift_instance_id", name="uq_production_plans_machine_shift"),
        sa.CheckConstraint("target_quantity >= 0", name="ck_production_plans_target"),
    )
    create_tenant_table(
        op,
        "production_entries",
        _id(),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("shift_instance_id", sa.Uuid, nullable=False),
        sa.Column("operator_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("good_quantity", sa.Integer, nullable=False),
        sa.Column("rework_quantity", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_ref", sa.String(120)),
        sa.Column("note", sa.Text),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id")),
        _created(),
        _machine_fk("production_entries"),
        _fk(["tenant_id", "shift_instance_id"], "shift_instances", ["tenant_id", "id"], "fk_production_entries_shift"),
        sa.CheckConstraint("good_quantity >= 0", name="ck_production_entries_good"),
        sa.CheckConstraint("rework_quantity between 0 and good_quantity", name="ck_production_entries_rework"),
        *_interval_checks("production_entries", open_allowed=False),
    )
    create_tenant_table(
        op,
        "rejection_entries",
        _id(),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("shift_instance_id", sa.Uuid, nullable=False),
        sa.Column("operator_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("reason_id", sa.Uuid, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id")),
        _created(),
        _machine_fk("rejection_entries"),
        _fk(["tenant_id", "shift_instance_id"], "shift_instances", ["tenant_id", "id"], "fk_rejection_entries_shift"),
        _fk(["tenant_id", "reason_id"], "loss_reasons", ["tenant_id", "id"], "fk_rejection_entries_reason"),
        sa.CheckConstraint("quantity > 0", name="ck_rejection_entries_quantity"),
    )

    # -- machine signals (written by the connectivity sink) --
    create_tenant_table(
        op,
        "machine_state_intervals",
        _id(),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("raw_code", sa.BigInteger),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        _machine_fk("machine_state_intervals"),
        sa.UniqueConstraint("tenant_id", "machine_id", "started_at", name="uq_machine_state_intervals_start"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_machine_state_intervals_tenant_id"),
        sa.CheckConstraint(_in("state", STATES), name="ck_machine_state_intervals_state"),
        *_interval_checks("machine_state_intervals", open_allowed=True),
    )
    op.execute(
        "create unique index uq_machine_state_intervals_open on machine_state_intervals "
        "(tenant_id, machine_id) where ended_at is null"
    )
    create_tenant_table(
        op,
        "machine_count_buckets",
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("good", sa.Integer, nullable=False),
        sa.Column("reject", sa.Integer, nullable=False),
        sa.Column("delta_keys", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        _updated(),
        sa.PrimaryKeyConstraint("tenant_id", "machine_id", "minute", name="pk_machine_count_buckets"),
        _machine_fk("machine_count_buckets"),
        sa.CheckConstraint("good >= 0 and reject >= 0", name="ck_machine_count_buckets_counts"),
        sa.CheckConstraint("extract(epoch from minute)::numeric % 60 = 0", name="ck_machine_count_buckets_minute"),
    )
    create_tenant_table(
        op,
        "downtime_events",
        _id(),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("planned", sa.Boolean, nullable=False),
        sa.Column("reason_id", sa.Uuid),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("needs_reason", sa.Boolean, nullable=False),
        sa.Column("state_interval_id", sa.Uuid),
        sa.Column("note", sa.Text),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id")),
        _created(),
        _updated(),
        _machine_fk("downtime_events"),
        _fk(["tenant_id", "reason_id"], "loss_reasons", ["tenant_id", "id"], "fk_downtime_events_reason"),
        _fk(["tenant_id", "state_interval_id"], "machine_state_intervals", ["tenant_id", "id"],
            "fk_downtime_events_state_interval"),
        sa.UniqueConstraint("tenant_id", "state_interval_id", name="uq_downtime_events_state_interval"),
        sa.CheckConstraint(_in("source", ("manual", "machine")), name="ck_downtime_events_source"),
        sa.CheckConstraint("source = 'machine' or state_interval_id is null", name="ck_downtime_events_link"),
        *_interval_checks("downtime_events", open_allowed=True),
    )

    for table in OVERLAP_TABLES:
        op.create_index(f"ix_{table}_machine_time", table, ["tenant_id", "machine_id", "started_at"])
        op.execute(
            f"create trigger {table}_no_overlap before insert or update of started_at, ended_at, machine_id "
            f"on {table} for each row execute function production_reject_overlap()"
        )
    op.create_index("ix_downtime_events_needs_reason", "downtime_events", ["tenant_id", "needs_reason"])
    op.create_index("ix_production_entries_shift", "production_entries", ["tenant_id", "shift_instance_id"])
    op.create_index("ix_rejection_entries_machine_time", "rejection_entries",
                    ["tenant_id", "machine_id", "occurred_at"])


def downgrade() -> None:
    for table in (
        "downtime_events",
        "machine_count_buckets",
        "machine_state_intervals",
        "rejection_entries",
        "production_entries",
        "production_plans",
        "loss_reasons",
        "shift_instances",
        "shift_patterns",
        "site_operators",
        "machines",
        "lines",
        "areas",
        "catalog_entries",
    ):
        op.drop_table(table)
    op.drop_constraint("uq_sites_tenant_id_id", "sites", type_="unique")
    op.execute("drop function production_reject_overlap()")
