"""`backup create`: pg_dump in custom format plus the manifest, from one consistent snapshot."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import create_engine, make_url, pool
from sqlalchemy.exc import SQLAlchemyError

from factoryos import __version__
from factoryos.backup.archive import prepare_directory, storage_error, write_stream
from factoryos.backup.errors import BackupError
from factoryos.backup.facts import read_facts, require_privileged, server_major
from factoryos.backup.lock import exclusive
from factoryos.audit.anchors import Head, public_key_text
from factoryos.backup.manifest import DUMP_SUFFIX, AuditHead, Backup, Manifest, write_manifest
from factoryos.backup.pgtools import find_tool, libpq_target
from factoryos.config import normalize_db_url

if TYPE_CHECKING:
    from factoryos.audit.anchoring import Anchorer

log = logging.getLogger(__name__)

LABEL_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
_LABEL = re.compile(LABEL_PATTERN)


def new_dump_path(directory: Path, created: dt.datetime, label: str) -> Path:
    """`factoryos-20260901T040000Z-scheduled.dump`: names sort by time."""
    stem = f"factoryos-{created:%Y%m%dT%H%M%SZ}-{label}"
    path, n = directory / f"{stem}{DUMP_SUFFIX}", 1
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}{DUMP_SUFFIX}"
    return path


def create_backup(source_url: str, directory: Path, *, label: str = "manual", wait: float = 0.0,
                  anchorer: Anchorer | None = None) -> Backup:
    """Dump the database at `source_url` (a superuser URL on the FactoryOS database); `wait`
    seconds for a backup or restore another process runs to end. With `anchorer`, the audit
    chain heads the dump holds are signed into the manifest (and the anchor file)."""
    if not _LABEL.match(label):
        raise BackupError(f"backup label {label!r}: use 1–32 lower-case letters, digits and '-'",
                          code="backup_label_invalid", status=422)  # fmt: skip
    source_url = normalize_db_url(source_url)
    prepare_directory(directory)
    with exclusive(directory, wait=wait):
        return _dump(source_url, directory, label, anchorer)


def _dump(source_url: str, directory: Path, label: str, anchorer: Anchorer | None = None) -> Backup:
    database = make_url(source_url).database or ""
    engine = create_engine(source_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            require_privileged(conn)
            pg_dump = find_tool("pg_dump", server_major(conn))
            # The counts and pg_dump share this transaction's snapshot, so they describe the same data.
            snapshot = conn.exec_driver_sql("select pg_export_snapshot()").scalar_one()
            facts = read_facts(conn)
            created = dt.datetime.now(dt.UTC).replace(microsecond=0)
            path = new_dump_path(directory, created, label)
            target, env = libpq_target(source_url)
            command = [str(pg_dump), "--format=custom", f"--snapshot={snapshot}", "--no-password", f"--dbname={target}"]
            written = write_stream(command, path, env=env)
            conn.rollback()
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise BackupError(f"cannot read the database for the backup: {str(reason).strip().splitlines()[0]}",
                          code="backup_source_unavailable", status=503) from None  # fmt: skip
    finally:
        engine.dispose()
    manifest = Manifest(
        file=path.name,
        label=label,
        factoryos_version=__version__,
        created_at=created,
        database=database,
        sha256=written.sha256,
        size=written.size,
        schema_revision=facts.schema_revision,
        row_counts=facts.row_counts,
        audit_heads=facts.audit_heads,
        **_signed_heads(anchorer, facts.audit_heads),
    )
    try:
        write_manifest(manifest, path)
    except OSError as exc:
        path.unlink(missing_ok=True)  # a dump without its manifest cannot be verified: do not keep it
        raise storage_error(exc, directory) from None
    log.info("backup %s written (%d bytes, %d tables)", path.name, written.size, len(facts.row_counts))
    return Backup(path, manifest)


def _signed_heads(anchorer: Anchorer | None, heads: dict[str, AuditHead] | None) -> dict[str, Any]:
    """The dump's chain heads signed by the installation's audit key, for the manifest: a backup
    whose chains were rewritten and re-hashed afterwards no longer matches them."""
    if anchorer is None or not heads:
        return {}
    anchors = anchorer.sign_heads([Head(UUID(t), h.seq, h.row_hash) for t, h in heads.items()])
    return {"audit_public_key": public_key_text(anchorer.key.public),
            "audit_anchors": [dataclasses.asdict(a) for a in anchors]}
