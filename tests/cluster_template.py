"""The session cluster from a migrated copy: initdb and the migration chain run once per schema,
not once per run and worker.

Both take most of a worker's start-up, on every run. After a run has prepared its cluster (roles,
database, migrated to head) it stops it for a moment and keeps a copy of its files in the temp dir,
under a key of everything that shapes them: the migrations, their helpers and runner, the roles,
the audit guard, and the PostgreSQL build (pgserver's version). Later runs copy those files and start the copy.
A changed migration is a new key, so no run sees a schema older than its code.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path

from factoryos.db import migrate
from factoryos.db.audit_guard import upgrade_guarded
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import embedded_urls
from factoryos.db.roles import init_database

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "factoryos-test-cluster-"
# A server's own files that must not travel with the copy: its pid, pgserver's list of the
# processes using it, its log.
RUNTIME_FILES = ("postmaster.pid", "postmaster.opts", ".handle_pids.json", "log")
STALE_AFTER = 24 * 3600  # other keys' copies (older code, another checkout) unused for a day are removed
# A test cluster is thrown away with its run: no fsync at commit (a server killed by a test still
# loses nothing, the kernel holds what it wrote; only a crash of the machine would). Every commit
# of the suite otherwise waits for the disk.
TEST_SETTINGS = "fsync = off\n"


def shaping_files() -> list[Path]:
    """The code a prepared cluster is made by: the migrations and their helpers, alembic's runner,
    the roles and the audit guard."""
    db = ROOT / "factoryos" / "db"
    migrations = [p for p in (db / "migrations").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(migrations + [db / "migrate.py", db / "roles.py", db / "audit_guard.py"])


def key(database: str, guarded: bool) -> str:
    # pgserver's version stands for the PostgreSQL build.
    digest = hashlib.sha256(f"{database}\n{guarded}\n{metadata.version('pgserver')}\n".encode())
    for path in shaping_files():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def copy_tree(source: Path, target: Path) -> None:
    """`cp -a`: keeps the owner (under root the files belong to PostgreSQL's own user) and modes."""
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def start_migrated(data_dir: Path, database: str, *, guarded: bool = True) -> EmbeddedPostgres:
    """A running cluster in `data_dir` with `database` migrated to head: as `serve` prepares it
    (the audit log out of the owner's reach), or with `guarded=False` by the migrations alone."""
    saved = Path(tempfile.gettempdir()) / f"{PREFIX}{key(database, guarded)}"
    pg = EmbeddedPostgres(data_dir)
    if (saved / "PG_VERSION").is_file():
        copy_tree(saved, pg.pgdata)
        os.utime(saved)  # in use: not pruned
        return _for_tests(pg).start()
    pg.start()
    urls = embedded_urls(pg, database)
    init_database(urls.admin, database)
    if guarded:
        upgrade_guarded(urls.admin, urls.owner, database)
    else:
        migrate.upgrade(urls.owner)
    pg.stop()
    _save(pg.pgdata, saved)
    return _for_tests(pg).start()


def _for_tests(pg: EmbeddedPostgres) -> EmbeddedPostgres:
    """`TEST_SETTINGS` in this copy's own configuration (the saved files stay as made)."""
    with (pg.pgdata / "postgresql.conf").open("a") as conf:
        conf.write(TEST_SETTINGS)
    return pg


def _save(pgdata: Path, saved: Path) -> None:
    """Publish a copy under its key; another worker doing the same at the same time wins or loses
    the rename, never leaves half a copy behind."""
    scratch = saved.with_name(f"{saved.name}.{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    copy_tree(pgdata, scratch)
    for name in RUNTIME_FILES:
        (scratch / name).unlink(missing_ok=True)
    try:
        scratch.rename(saved)
    except OSError:  # another worker published first
        shutil.rmtree(scratch, ignore_errors=True)
    _prune(saved)


def _prune(keep: Path) -> None:
    for other in keep.parent.glob(f"{PREFIX}*"):
        try:
            stale = other != keep and time.time() - other.stat().st_mtime > STALE_AFTER
        except OSError:
            continue
        if stale:
            shutil.rmtree(other, ignore_errors=True)


def remove_later(path: Path) -> None:
    """Remove a finished cluster's files without holding up the end of the run (seconds for the
    session cluster's thousands of files)."""
    subprocess.Popen(["rm", "-rf", str(path)], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
