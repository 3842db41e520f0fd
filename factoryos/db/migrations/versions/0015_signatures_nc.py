"""Electronic signatures, nonconformances and CAPA.

Revision ID: 0015_signatures_nc
Revises: 0014_mqtt

A signature (21 CFR Part 11) names the record it signs by type and id, keeps who signed, when,
the meaning, an optional reason and the SHA-256 of the record's canonical content as signed
(and that content): a later change to the record gives another hash, so the signature then
shows as no longer valid. Signatures are append-only for the app role (SELECT, INSERT).
`signature_failures` counts wrong passwords in a row per session: the second ends it.

A nonconformance (NC) is numbered per company, moves open → dispositioned → closed, and keeps
every step in `nonconformance_events` (append-only). A CAPA groups one or more NCs; its steps
(containment, root cause, actions, effectiveness) are approved by signatures on the CAPA.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0015_signatures_nc"
down_revision = "0014_mqtt"
branch_labels = None
depends_on = None

MEANINGS = ("authored", "reviewed", "approved", "verified", "responsible")
NC_STATUSES = ("open", "dispositioned", "closed")
DISPOSITIONS = ("scrap", "rework", "use_as_is", "return_to_supplier")
NC_SOURCES = ("manual", "inspection", "rejection")
CAPA_STATUSES = ("open", "closed")
ACTION_KINDS = ("corrective", "preventive")
TEXT_MAX = 4000


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def _user(name: str, table: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Uuid, sa.ForeignKey("users.id", name=f"fk_{table}_{name}"), nullable=nullable)


def _fk(cols: list[str], table: str, ref: list[str], name: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(cols, [f"{table}.{c}" for c in ref], name=name, ondelete=ondelete)


def _text_check(column: str, table: str, *, nullable: bool = False) -> sa.CheckConstraint:
    rule = f"length(btrim({column})) between 1 and {TEXT_MAX}"
    return sa.CheckConstraint(f"{column} is null or ({rule})" if nullable else rule, name=f"ck_{table}_{column}")


def upgrade() -> None:
    create_tenant_table(
        op,
        "signatures",
        _id(),
        sa.Column("record_type", sa.String(60), nullable=False),
        sa.Column("record_id", sa.Uuid, nullable=False),
        _user("signer_id", "signatures", nullable=False),
        sa.Column("signer_name", sa.String(200), nullable=False),  # as printed at signing
        sa.Column("signer_email", sa.String(320), nullable=False),
        sa.Column("meaning", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", JSONB, nullable=False),  # what was signed, canonical
        sa.Column("method", sa.String(20), nullable=False),  # password | password+totp
        sa.Column("session_id", sa.Uuid),
        _ts("signed_at", default=True, nullable=False),
        sa.CheckConstraint(_in("meaning", MEANINGS), name="ck_signatures_meaning"),
        sa.CheckConstraint("content_hash ~ '^[0-9a-f]{64}$'", name="ck_signatures_hash"),
        sa.CheckConstraint("length(btrim(record_type)) > 0", name="ck_signatures_record_type"),
        _text_check("reason", "signatures", nullable=True),
        grants="SELECT, INSERT",
    )
    op.create_index("ix_signatures_record", "signatures", ["tenant_id", "record_type", "record_id", "signed_at"])
    create_tenant_table(
        op,
        "signature_failures",
        sa.Column("session_id", sa.Uuid, nullable=False),
        _user("user_id", "signature_failures", nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        _ts("last_failed_at", default=True, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "session_id", name="pk_signature_failures"),
        sa.CheckConstraint("failures > 0", name="ck_signature_failures_count"),
    )

    create_tenant_table(
        op,
        "nonconformances",
        _id(),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'open'")),
        sa.Column("source", sa.String(16), nullable=False, server_default=sa.text("'manual'")),
        sa.Column("source_id", sa.Uuid),  # the inspection or rejection entry it came from
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("product_id", sa.Uuid),
        sa.Column("order_id", sa.Uuid),
        sa.Column("lot_id", sa.Uuid),  # a materials lot when known (no foreign key: another module's table)
        sa.Column("quantity", sa.Numeric(14, 3), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("disposition", sa.String(24)),
        sa.Column("disposition_note", sa.Text),
        _user("dispositioned_by", "nonconformances"),
        _ts("dispositioned_at"),
        _user("closed_by", "nonconformances"),
        _ts("closed_at"),
        _user("reported_by", "nonconformances"),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_nonconformances_machine"),
        _fk(["tenant_id", "product_id"], "products", ["tenant_id", "id"], "fk_nonconformances_product"),
        _fk(["tenant_id", "order_id"], "jobs", ["tenant_id", "id"], "fk_nonconformances_order"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_nonconformances_number"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_nonconformances_tenant_id"),
        sa.CheckConstraint("number > 0", name="ck_nonconformances_number"),
        sa.CheckConstraint(_in("status", NC_STATUSES), name="ck_nonconformances_status"),
        sa.CheckConstraint(_in("source", NC_SOURCES), name="ck_nonconformances_source"),
        sa.CheckConstraint("disposition is null or " + _in("disposition", DISPOSITIONS),
                           name="ck_nonconformances_disposition"),
        sa.CheckConstraint("quantity > 0", name="ck_nonconformances_quantity"),
        sa.CheckConstraint("status = 'open' or (disposition is not null and dispositioned_at is not null)",
                           name="ck_nonconformances_dispositioned"),
        sa.CheckConstraint("(status = 'closed') = (closed_at is not null)", name="ck_nonconformances_closed"),
        _text_check("description", "nonconformances"),
        _text_check("disposition_note", "nonconformances", nullable=True),
        grants="SELECT, INSERT, UPDATE",
    )
    op.create_index("ix_nonconformances_list", "nonconformances", ["tenant_id", "created_at", "id"])
    op.create_index("ix_nonconformances_machine", "nonconformances", ["tenant_id", "machine_id", "status"])
    create_tenant_table(
        op,
        "nonconformance_events",
        _id(),
        sa.Column("nonconformance_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),  # opened | edited | dispositioned | closed
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'")),
        _user("actor_id", "nonconformance_events"),
        _ts("at", default=True, nullable=False),
        _fk(["tenant_id", "nonconformance_id"], "nonconformances", ["tenant_id", "id"],
            "fk_nonconformance_events_nc"),
        grants="SELECT, INSERT",
    )
    op.create_index("ix_nonconformance_events_nc", "nonconformance_events", ["tenant_id", "nonconformance_id", "at"])

    create_tenant_table(
        op,
        "capas",
        _id(),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default=sa.text("'open'")),
        sa.Column("problem", sa.Text, nullable=False),
        sa.Column("containment", sa.Text),
        sa.Column("whys", JSONB, nullable=False, server_default=sa.text("'[]'")),  # the 5-Why answers, in order
        sa.Column("root_cause", sa.Text),
        sa.Column("effectiveness_check", sa.Text),  # how effectiveness is checked, then what was found
        sa.Column("effective", sa.Boolean),
        _user("owner_id", "capas"),
        _user("created_by", "capas"),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        _ts("closed_at"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_capas_number"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_capas_tenant_id"),
        sa.CheckConstraint("number > 0", name="ck_capas_number"),
        sa.CheckConstraint(_in("status", CAPA_STATUSES), name="ck_capas_status"),
        sa.CheckConstraint("(status = 'closed') = (closed_at is not null)", name="ck_capas_closed"),
        sa.CheckConstraint("jsonb_typeof(whys) = 'array' and jsonb_array_length(whys) <= 5", name="ck_capas_whys"),
        sa.CheckConstraint("length(btrim(title)) > 0", name="ck_capas_title"),
        _text_check("problem", "capas"),
        grants="SELECT, INSERT, UPDATE",
    )
    op.create_index("ix_capas_list", "capas", ["tenant_id", "created_at", "id"])
    create_tenant_table(
        op,
        "capa_nonconformances",
        sa.Column("capa_id", sa.Uuid, nullable=False),
        sa.Column("nonconformance_id", sa.Uuid, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "capa_id", "nonconformance_id", name="pk_capa_nonconformances"),
        _fk(["tenant_id", "capa_id"], "capas", ["tenant_id", "id"], "fk_capa_nonconformances_capa", "CASCADE"),
        _fk(["tenant_id", "nonconformance_id"], "nonconformances", ["tenant_id", "id"],
            "fk_capa_nonconformances_nc"),
        grants="SELECT, INSERT, DELETE",
    )
    op.create_index("ix_capa_nonconformances_nc", "capa_nonconformances", ["tenant_id", "nonconformance_id"])
    create_tenant_table(
        op,
        "capa_actions",
        _id(),
        sa.Column("capa_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        _user("owner_id", "capa_actions", nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        _ts("done_at"),
        _user("done_by", "capa_actions"),
        sa.Column("done_note", sa.Text),
        _ts("created_at", default=True, nullable=False),
        _fk(["tenant_id", "capa_id"], "capas", ["tenant_id", "id"], "fk_capa_actions_capa", "CASCADE"),
        sa.CheckConstraint(_in("kind", ACTION_KINDS), name="ck_capa_actions_kind"),
        sa.CheckConstraint("(done_at is null) = (done_by is null)", name="ck_capa_actions_done"),
        _text_check("description", "capa_actions"),
        grants="SELECT, INSERT, UPDATE",
    )
    op.create_index("ix_capa_actions_owner", "capa_actions", ["tenant_id", "owner_id", "due_date"])
    op.create_index("ix_capa_actions_capa", "capa_actions", ["tenant_id", "capa_id"])


def downgrade() -> None:
    op.drop_table("capa_actions")
    op.drop_table("capa_nonconformances")
    op.drop_table("capas")
    op.drop_table("nonconformance_events")
    op.drop_table("nonconformances")
    op.drop_table("signature_failures")
    op.drop_table("signatures")
