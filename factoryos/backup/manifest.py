"""The manifest beside each dump: what the file must hash to and what the database held."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factoryos.backup.errors import BackupInvalid

DUMP_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".json"


class AuditHead(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    row_hash: str


class Manifest(BaseModel):
    """Facts are optional: a dump taken through `docker compose exec` (installer) has none."""

    model_config = ConfigDict(frozen=True)

    format: str = "pg_dump custom"
    file: str
    label: str
    factoryos_version: str
    created_at: dt.datetime
    database: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    schema_revision: str | None = None
    row_counts: dict[str, int] | None = None
    audit_heads: dict[str, AuditHead] | None = Field(None, description="Tenant id → head of its audit chain.")
    audit_public_key: str | None = Field(None, description="The installation's audit key (Ed25519, base64) "
                                         "that signed `audit_anchors`.")
    audit_anchors: list[dict[str, Any]] | None = Field(None, description="The heads above, signed at backup time.")


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(DUMP_SUFFIX)

    @property
    def manifest_path(self) -> Path:
        return manifest_path(self.path)

    @property
    def size(self) -> int:
        return self.manifest.size

    @property
    def created_at(self) -> dt.datetime:
        return self.manifest.created_at

    @classmethod
    def load(cls, path: Path) -> Backup:
        return cls(path, read_manifest(path))

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
        self.manifest_path.unlink(missing_ok=True)


def manifest_path(dump: Path) -> Path:
    return dump.with_suffix(MANIFEST_SUFFIX)


def read_manifest(dump: Path) -> Manifest:
    where = manifest_path(dump)
    try:
        return Manifest.model_validate_json(where.read_bytes())
    except OSError as exc:
        raise BackupInvalid(f"backup {dump.name} has no readable manifest ({where.name}: {exc.strerror})",
                            code="backup_manifest_missing") from None  # fmt: skip
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where_in = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise BackupInvalid(f"backup {dump.name} has a damaged manifest ({where_in}: {first['msg']})",
                            code="backup_manifest_invalid") from None  # fmt: skip


def write_manifest(manifest: Manifest, dump: Path) -> Path:
    """Written beside the dump through a temporary file, so a reader never sees half of it."""
    target = manifest_path(dump)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("w") as handle:
            handle.write(json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        partial.chmod(0o600)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
