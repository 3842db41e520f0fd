"""What a backup promises about its database: schema revision, rows per table, audit heads.

Read in the same snapshot pg_dump exports, so the counts describe exactly the dump; read
again after a restore, they must match.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select, table

from factoryos.backup.errors import BackupError
from factoryos.backup.manifest import AuditHead
from factoryos.db.migrate import current_revision

# Partitions are counted through their parent (audit_log), not one by one.
_TABLES = """
select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
 order by c.relname
"""
_PRIVILEGED = "select rolsuper or rolbypassrls from pg_roles where rolname = current_user"


@dataclass(frozen=True)
class DatabaseFacts:
    schema_revision: str | None
    row_counts: dict[str, int]
    audit_heads: dict[str, AuditHead]


def require_privileged(conn: Connection) -> None:
    """Every tenant table forces RLS, even for its owner: only a superuser sees all rows."""
    if not conn.exec_driver_sql(_PRIVILEGED).scalar():
        raise BackupError(
            "backups run as the database superuser (row-level security hides rows from every other role): "
            "set FACTORYOS_ADMIN_DATABASE_URL",
            code="backup_needs_superuser",
        )


def read_facts(conn: Connection) -> DatabaseFacts:
    names = list(conn.exec_driver_sql(_TABLES).scalars())
    counts = {name: conn.execute(select(func.count()).select_from(table(name, schema="public"))).scalar_one()
              for name in names}  # fmt: skip
    heads: dict[str, AuditHead] = {}
    if "audit_chain_heads" in counts:
        rows = conn.exec_driver_sql("select tenant_id, seq, row_hash from public.audit_chain_heads order by tenant_id")
        heads = {str(r.tenant_id): AuditHead(seq=r.seq, row_hash=r.row_hash) for r in rows}
    return DatabaseFacts(current_revision(conn), counts, heads)


def server_major(conn: Connection) -> int:
    return int(conn.exec_driver_sql("select current_setting('server_version_num')::int / 10000").scalar_one())
