"""Database dumps through the compose `postgres` service (pg_dump custom format), each with
a JSON manifest holding its SHA-256, so a restore refuses a damaged file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from installer.errors import InstallError
from installer.stack import Stack

DATABASE = "factoryos"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Dump:
    path: Path
    label: str
    version: str
    created_at: str
    sha256: str
    size: int

    @property
    def manifest_path(self) -> Path:
        return self.path.with_suffix(".json")

    @classmethod
    def load(cls, path: Path) -> Dump:
        try:
            body = json.loads(path.with_suffix(".json").read_text())
            return cls(path=path, **{k: body[k] for k in ("label", "version", "created_at", "sha256", "size")})
        except (OSError, ValueError, KeyError) as exc:
            raise InstallError(f"backup {path.name} has no readable manifest: {exc}", code="backup_invalid") from None


def create_dump(stack: Stack, directory: Path, *, label: str, version: str) -> Dump:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    created = dt.datetime.now(dt.UTC)
    path = directory / f"{label}-{version}-{created:%Y%m%dT%H%M%SZ}.dump"
    partial = path.with_suffix(".partial")
    digest = hashlib.sha256()
    size = 0
    command = stack.command("exec", "-T", "postgres", "pg_dump", "--username=postgres", "--format=custom", DATABASE)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc, partial.open("wb") as out:
        assert proc.stdout is not None and proc.stderr is not None
        while chunk := proc.stdout.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        errors = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0 or size == 0:
        partial.unlink(missing_ok=True)
        raise InstallError(f"pg_dump failed: {errors.strip()[-500:]}", code="backup_failed")
    partial.chmod(0o600)
    partial.replace(path)
    dump = Dump(path, label, version, created.isoformat(timespec="seconds"), digest.hexdigest(), size)
    body = {k: v for k, v in asdict(dump).items() if k != "path"} | {"database": DATABASE, "format": "pg_dump custom"}
    dump.manifest_path.write_text(json.dumps(body, indent=2))
    return dump


def verify_dump(dump: Dump) -> None:
    digest = hashlib.sha256()
    try:
        with dump.path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise InstallError(f"backup {dump.path} cannot be read: {exc}", code="backup_missing") from None
    if digest.hexdigest() != dump.sha256:
        raise InstallError(f"backup {dump.path.name} is corrupted (SHA-256 mismatch)", code="backup_checksum")


def restore_dump(stack: Stack, dump: Dump) -> None:
    """Replace the database with the dump; the API must be stopped (it is, by the caller)."""
    verify_dump(dump)
    drop = stack.run(
        "exec", "-T", "postgres", "psql", "--username=postgres", "--dbname=postgres", "-v", "ON_ERROR_STOP=1",
        "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)",
    )  # fmt: skip
    if drop.returncode != 0:
        raise InstallError(f"dropping the database failed: {drop.stderr.strip()}", code="restore_failed")
    # --create recreates the database with its owner, settings and grants from the dump.
    command = stack.command(
        "exec",
        "-T",
        "postgres",
        "pg_restore",
        "--username=postgres",
        "--dbname=postgres",
        "--create",
        "--exit-on-error",
    )
    with dump.path.open("rb") as source:
        run = subprocess.run(command, stdin=source, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise InstallError(f"pg_restore failed: {run.stderr.strip()[-500:]}", code="restore_failed")
