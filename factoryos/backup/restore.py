"""`backup restore`: into a scratch database first, verified, then swapped in.

The live database is only replaced once the restored copy holds exactly the rows the
manifest promises and every company's audit chain verifies; a failed restore leaves it
as it was. Needs the superuser (database creation, rows behind row-level security).
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

from uuid import UUID

from sqlalchemy import Connection, Engine, create_engine, make_url, pool

from factoryos.audit.verify import verify_chain
from factoryos.backup.errors import RestoreFailed
from factoryos.backup.facts import DatabaseFacts, read_facts, require_privileged, server_major
from factoryos.backup.lock import exclusive
from factoryos.backup.manifest import Backup, Manifest
from factoryos.backup.pgtools import find_tool, libpq_target
from factoryos.backup.verify import verify_backup
from factoryos.config import normalize_db_url
from factoryos.audit.anchors import Anchor, AnchorError, public_key_from_text
from factoryos.db.audit_guard import secure_audit
from factoryos.db.roles import init_database
from factoryos.schema.tenancy import companies

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ChainCheck:
    tenant_id: str
    company: str
    rows: int


@dataclass(frozen=True)
class RestoreReport:
    backup: str
    database: str
    tables: int
    rows: int
    chains: list[ChainCheck] = field(default_factory=list)


def restore_backup(
    admin_url: str,
    database: str,
    backup: Backup,
    *,
    progress: Progress | None = None,
    before_swap: Callable[[], None] | None = None,
) -> RestoreReport:
    """Replace `database` with the backup's content; `admin_url` is a superuser URL (any database).

    `before_swap` runs once the restored copy is verified, just before the live database's
    connections are terminated (a running server stops its traffic there).
    """
    with exclusive(backup.path.parent):
        return _restore(admin_url, database, backup, progress or (lambda message: None), before_swap)


def _restore(
    admin_url: str, database: str, backup: Backup, say: Progress, before_swap: Callable[[], None] | None
) -> RestoreReport:
    say(f"verifying {backup.path.name}")
    verify_backup(backup)
    maintenance = make_url(normalize_db_url(admin_url)).set(database="postgres")
    scratch = f"{database}_restoring"[:63]
    engine = create_engine(maintenance, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            require_privileged(conn)
            major = server_major(conn)
            _drop(conn, scratch)
        init_database(maintenance.render_as_string(hide_password=False), scratch)
        try:
            say(f"restoring into {scratch}")
            _pg_restore(maintenance.set(database=scratch).render_as_string(hide_password=False), backup, major)
            # A backup from before the audit role existed comes back owned by the migration owner.
            secure_audit(maintenance.render_as_string(hide_password=False), scratch)
            say("checking row counts and audit chains")
            report = _check(create_engine(maintenance.set(database=scratch), poolclass=pool.NullPool), backup, database)
            say(f"replacing {database}")
            if before_swap is not None:
                before_swap()
            with engine.connect() as conn:
                _swap(conn, scratch, database)
        except BaseException:
            with engine.connect() as conn:
                _drop(conn, scratch)
            raise
    finally:
        engine.dispose()
    log.info("restored %s into %s (%d rows)", backup.path.name, database, report.rows)
    return report


def _pg_restore(target_url: str, backup: Backup, major: int) -> None:
    target, env = libpq_target(target_url)
    command = [str(find_tool("pg_restore", major)), "--exit-on-error", "--single-transaction", "--no-password",
               f"--dbname={target}", str(backup.path)]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        raise RestoreFailed(f"pg_restore failed: {lines[-1] if lines else f'exit status {run.returncode}'}")


def _check(engine: Engine, backup: Backup, database: str) -> RestoreReport:
    """The restored copy must be what the manifest describes, and its audit chains intact."""
    try:
        with engine.connect() as conn:
            found = read_facts(conn)
            _compare(found, backup)
            chains = _verify_chains(conn, found)
    finally:
        engine.dispose()
    return RestoreReport(backup.path.name, database, len(found.row_counts), sum(found.row_counts.values()), chains)


def _compare(found: DatabaseFacts, backup: Backup) -> None:
    expected = backup.manifest
    if expected.schema_revision is not None and found.schema_revision != expected.schema_revision:
        raise RestoreFailed(f"restored schema is at {found.schema_revision}, the manifest says {expected.schema_revision}",
                            code="restore_verify_failed")  # fmt: skip
    if expected.row_counts is not None:
        wrong = [
            f"{name}: {found.row_counts.get(name, 'missing')} rows, expected {count}"
            for name, count in sorted(expected.row_counts.items())
            if found.row_counts.get(name) != count
        ]
        wrong += [f"{name}: not in the manifest" for name in sorted(set(found.row_counts) - set(expected.row_counts))]
        if wrong:
            raise RestoreFailed(f"restored rows differ from the manifest ({'; '.join(wrong[:5])})",
                                code="restore_verify_failed")  # fmt: skip
    if expected.audit_heads is not None and found.audit_heads != expected.audit_heads:
        raise RestoreFailed("restored audit chain heads differ from the manifest", code="restore_verify_failed")
    _check_signed_heads(expected)


def _check_signed_heads(manifest: Manifest) -> None:
    """A manifest's heads signed at backup time must still carry that signature: a backup whose
    chains were rewritten, re-hashed and written into a matching manifest fails here."""
    if not manifest.audit_anchors:
        return
    try:
        public = public_key_from_text(manifest.audit_public_key or "")
        anchors = [Anchor(**a) for a in manifest.audit_anchors]
    except (AnchorError, TypeError) as exc:
        raise RestoreFailed(f"the manifest's signed audit heads are unreadable: {exc}",
                            code="restore_verify_failed") from None
    heads = manifest.audit_heads or {}
    for anchor in anchors:
        head = heads.get(anchor.tenant_id)
        if not anchor.valid_under(public) or head is None or (head.seq, head.row_hash) != (anchor.seq, anchor.row_hash):
            raise RestoreFailed(f"the audit chain head of company {anchor.tenant_id} in this backup is not the one "
                                "signed when it was taken (the backup was altered)", code="restore_verify_failed")


def _verify_chains(conn: Connection, found: DatabaseFacts) -> list[ChainCheck]:
    names = {str(r.tenant_id): r.name for r in conn.execute(companies.select())}
    checks = []
    for tenant in sorted(set(names) | set(found.audit_heads)):
        report = verify_chain(conn, UUID(tenant))
        company = names.get(tenant, tenant)
        if not report.ok:
            raise RestoreFailed(
                f"audit chain of {company} is broken at row seq {report.broken_seq}: {report.reason}",
                code="restore_verify_failed",
            )
        checks.append(ChainCheck(tenant, company, report.rows))
    return checks


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _drop(conn: Connection, name: str) -> None:
    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {_quote(conn, name)} WITH (FORCE)")


def _swap(conn: Connection, scratch: str, database: str) -> None:
    """Rename the verified copy into place; the old database goes only once that worked."""
    replaced = f"{database}_replaced"[:63]
    live, new, old = _quote(conn, database), _quote(conn, scratch), _quote(conn, replaced)
    _drop(conn, replaced)
    exists = conn.exec_driver_sql("select 1 from pg_database where datname = %s", (database,)).first()
    if exists:
        # Nobody may reconnect between the terminate and the rename (a running server retries).
        conn.exec_driver_sql(f"ALTER DATABASE {live} WITH ALLOW_CONNECTIONS false")
        conn.exec_driver_sql(
            "select pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
            (database,),
        )
        conn.exec_driver_sql(f"ALTER DATABASE {live} RENAME TO {old}")
    try:
        conn.exec_driver_sql(f"ALTER DATABASE {new} RENAME TO {live}")
    except BaseException:
        if exists:
            conn.exec_driver_sql(f"ALTER DATABASE {old} RENAME TO {live}")
            conn.exec_driver_sql(f"ALTER DATABASE {live} WITH ALLOW_CONNECTIONS true")
        raise
    if exists:
        _drop(conn, replaced)
