"""Request and response shapes of the operations API: health, configuration, backups and
restores (the `system` tag) and the audit trail (the `audit` tag).

One definition for the server's routes, the OpenAPI document and the API client. They live
here rather than in `factoryos.backup` / `factoryos.audit` because importing those packages
loads the database driver, which the terminal app must not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from factoryos.licensing.models import LicenseLimits

# The same patterns as factoryos.backup.create.LABEL_PATTERN and factoryos.backup.catalog.NAME_PATTERN
# (a test holds them equal): copied, because importing factoryos.backup loads the database driver.
BACKUP_LABEL_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
BACKUP_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"


# --- health -----------------------------------------------------------------------------


class ComponentHealth(BaseModel):
    ok: bool
    detail: str | None = None


class MigrationHealth(ComponentHealth):
    current: str | None = None
    head: str


class PollerHealth(BaseModel):
    ok: bool | None = Field(None, description="null when the poller is off.")
    state: str = Field(description="running or off")
    machines: int = 0
    connected: int = 0
    failing: int = 0
    detail: str | None = None


class DiskHealth(ComponentHealth):
    free_bytes: int | None = None
    total_bytes: int | None = None


class WalArchiveHealth(BaseModel):
    """Continuous WAL archiving for point-in-time recovery (pg_receivewal into the backup folder)."""

    ok: bool = Field(description="Streaming, a base backup exists and the lag is within the RPO.")
    state: str = Field(description="streaming, starting or stopped")
    lag_seconds: int | None = Field(None, description="Seconds since the archive last held all the database's WAL.")
    rpo_seconds: int
    last_success_at: dt.datetime | None = Field(None, description="When the archive last held all of it.")
    base_backups: int
    last_base_at: dt.datetime | None = None
    free_bytes: int | None = Field(None, description="Free space in the backup folder.")
    detail: str | None = None


class BackupHealth(BaseModel):
    ok: bool | None = Field(None, description="null when nothing is scheduled to judge the age against.")
    scheduled: bool
    interval_hours: float | None = None
    last_at: dt.datetime | None = None
    age_seconds: int | None = None
    detail: str | None = None
    wal: WalArchiveHealth | None = Field(None, description="null when continuous archiving is off in this server.")


class LicenseHealth(BaseModel):
    status: str = Field(description="licensed, evaluation, expired or invalid")
    valid: bool = Field(description="A license is activated and in force.")
    edition: str
    expires_at: dt.datetime | None = None
    limits: LicenseLimits
    detail: str | None = None


class DutiesHealth(BaseModel):
    """The installation's duties (polling, scheduled backups, webhooks, MQTT publishing) run in one server
    process, whichever holds the duty lock: none holding it means none of them runs."""

    ok: bool = Field(description="A server process holds the duties.")
    since: dt.datetime | None = Field(None, description="When the holder took them (UTC).")


class StandbyHealth(BaseModel):
    name: str = Field(description="The standby's replication slot (without one: its application name).")
    state: str = Field(description="streaming, catchup, startup, backup or disconnected")
    lag_bytes: int | None = Field(None, description="WAL written here that the standby has not replayed.")
    lag_seconds: float | None = Field(None, description="replay_lag: how long a commit took to be visible there.")


class ReplicationHealth(BaseModel):
    """Streaming replication: on a primary, each standby; on a standby, its own state (absent without either)."""

    ok: bool = Field(description="Every standby streams within the RPO (on a standby: it streams within the RPO).")
    role: str = Field(description="primary or standby: what this server's database is")
    rpo_seconds: int
    standbys: list[StandbyHealth] = Field(default_factory=list)
    streaming: bool | None = Field(None, description="On a standby: receiving WAL from its primary now.")
    lag_bytes: int | None = Field(None, description="On a standby: WAL received, not yet replayed.")
    lag_seconds: float | None = Field(None, description="On a standby: age of the last replayed commit (0: caught up).")
    detail: str | None = None


class Health(BaseModel):
    status: str
    version: str
    database: ComponentHealth
    migrations: MigrationHealth
    poller: PollerHealth | None = None
    disk: DiskHealth | None = None
    backup: BackupHealth | None = None
    license: LicenseHealth | None = None
    replication: ReplicationHealth | None = None
    duties: DutiesHealth | None = Field(None, description="Absent when the database could not be asked.")


# --- configuration ----------------------------------------------------------------------


class DatabaseConfig(BaseModel):
    mode: str = Field(description="embedded (PostgreSQL in the data directory) or external")
    name: str
    host: str | None = None
    port: int | None = None
    pool_size: int


class SystemConfig(BaseModel):
    version: str
    listen: str = Field(description="Address and port the server binds.")
    tls: bool
    log_level: str
    trusted_proxies: list[str]
    max_body_bytes: int
    database: DatabaseConfig
    data_dir: str
    backup_dir: str
    backups_available: bool = Field(description="The server holds the superuser URL backups need.")
    backup_interval_hours: float
    backup_keep_days: int
    poller_enabled: bool
    poller_running: bool
    poller_reload_seconds: float
    license_file: str


# --- backups and restores ---------------------------------------------------------------


class BackupOut(BaseModel):
    name: str
    label: str
    created_at: dt.datetime
    size: int
    sha256: str
    factoryos_version: str
    schema_revision: str | None


class BackupList(BaseModel):
    items: list[BackupOut]
    available: bool = Field(description="This server can take backups (it has the superuser database URL).")
    interval_hours: float | None = Field(description="Scheduled backups every so many hours; null ⇒ off.")
    keep_days: int
    last_error: str | None = Field(None, description="Why the last scheduled backup failed, if it did.")
    running: str | None = Field(None, description="`backup` or `restore` while one runs (one at a time).")


class BackupCreate(BaseModel):
    label: str = Field("manual", pattern=BACKUP_LABEL_PATTERN, description="Goes into the file name.")


class RestoreIn(BaseModel):
    name: str = Field(pattern=BACKUP_NAME_PATTERN, description="The backup's name (see GET /api/v1/backup).")
    confirm: str = Field(max_length=200, description="The name typed again: a restore replaces every company's data.")


class RestoreOut(BaseModel):
    id: UUID
    backup: str
    backup_created_at: dt.datetime
    state: Literal["running", "succeeded", "failed"]
    phase: str = Field(description="queued, verifying, restoring, checking, replacing, recording or done.")
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error_code: str | None = Field(description="Stable code of `error` when the restore failed.")
    error: str | None = Field(description="Why it failed; the live database was then left as it was.")
    warning: str | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"


# --- audit trail ------------------------------------------------------------------------


class AuditQuery(BaseModel):
    actor: UUID | None = Field(None, description="Actor user id.")
    action: str | None = Field(None, max_length=40)
    entity: str | None = Field(None, max_length=80, description="Entity type, e.g. machine.")
    entity_id: str | None = Field(None, max_length=80)
    since: dt.datetime | None = Field(None, alias="from", description="Inclusive start (ISO 8601).")
    until: dt.datetime | None = Field(None, alias="to", description="Exclusive end (ISO 8601).")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=200)


class AuditEntry(BaseModel):
    seq: int
    ts: dt.datetime
    actor_id: UUID | None
    action: str
    entity_type: str
    entity_id: str | None
    before: Any
    after: Any
    client_ip: str | None
    user_agent: str | None
    request_id: str | None
    prev_hash: str
    row_hash: str


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None
