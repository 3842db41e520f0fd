"""Operations shapes the client returns: license, backups and restores, health and configuration.

The server declares them in `server/`, which clients must not import, so they are mirrored
here (fields the client reads; unknown ones are ignored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel


class Limits(BaseModel):
    machines: int
    users: int
    sites: int


class LicenseInfo(BaseModel):
    status: str  # licensed, evaluation, expired or invalid
    valid: bool
    evaluation: bool
    edition: str
    customer: str | None = None
    license_id: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    days_left: int | None = None
    bound_to_host: str | None = None
    host_id: str
    limits: Limits
    in_use: Limits
    code: str | None = None
    detail: str | None = None


class BackupItem(BaseModel):
    name: str
    label: str
    created_at: datetime
    size: int
    sha256: str
    factoryos_version: str
    schema_revision: str | None = None


class BackupList(BaseModel):
    items: list[BackupItem]
    available: bool
    interval_hours: float | None = None
    keep_days: int
    last_error: str | None = None
    running: str | None = None


class RestoreJob(BaseModel):
    id: UUID
    backup: str
    backup_created_at: datetime
    state: str  # running, succeeded or failed
    phase: str
    started_at: datetime
    finished_at: datetime | None = None
    error_code: str | None = None
    error: str | None = None
    warning: str | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"


class DatabaseConfig(BaseModel):
    mode: str
    name: str
    host: str | None = None
    port: int | None = None
    pool_size: int


class SystemConfig(BaseModel):
    version: str
    listen: str
    tls: bool
    log_level: str
    trusted_proxies: list[str]
    max_body_bytes: int
    database: DatabaseConfig
    data_dir: str
    backup_dir: str
    backups_available: bool
    backup_interval_hours: float
    backup_keep_days: int
    poller_enabled: bool
    poller_running: bool
    poller_reload_seconds: float
    license_file: str


Health = dict[str, Any]  # GET /system/health answers 503 with a body too: kept as parsed JSON
