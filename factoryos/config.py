"""Settings from `FACTORYOS_*` environment variables and an optional TOML file.

Precedence: init arguments > environment > TOML file (`FACTORYOS_CONFIG`, else
/etc/factoryos/factoryos.toml when present) > defaults. No database URL ⇒ embedded mode.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

SYSTEM_CONFIG = Path("/etc/factoryos/factoryos.toml")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "factoryos"


def _config_file() -> Path | None:
    explicit = os.environ.get("FACTORYOS_CONFIG")
    if explicit:
        return Path(explicit)
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def normalize_db_url(url: str) -> str:
    """Accept plain libpq URLs and pin SQLAlchemy to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACTORYOS_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="Where embedded data, spools and keys live.")
    database_url: str | None = Field(None, description="App-role URL the server uses; unset ⇒ embedded PostgreSQL.")
    owner_database_url: str | None = Field(None, description="Owner-role URL for migrations.")
    admin_database_url: str | None = Field(None, description="Superuser URL, used only by `db init`.")
    owner_db_password: SecretStr | None = None
    app_db_password: SecretStr | None = None
    database_name: str = "factoryos"
    secret_key: SecretStr | None = Field(None, description="Signs tokens; generated into the data dir when unset.")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = Field(
        "text", description="`json`: one JSON object per log line, with the request id and company id.")
    tls_cert: Path | None = None
    tls_key: Path | None = None
    trusted_proxies: list[str] = Field(default_factory=list, description="Proxies whose X-Forwarded-For is believed.")
    db_pool_size: int = Field(10, ge=1, le=200)
    live_snapshot_seconds: float = Field(
        0.5, ge=0, le=60,
        description="A site's live view is computed at most this often and shared by its readers; 0 ⇒ every request.")
    request_threads: int = Field(
        8, ge=1, le=200, description="Request handlers running at once per server process; more queue.")
    long_request_threads: int = Field(
        4, ge=1, le=200, description="Of those, reports, long KPI ranges, backups and imports, in a pool of their own.")
    max_body_bytes: int = Field(1_048_576, ge=1024)
    backup_dir: Path | None = Field(None, description="Where backups go; unset ⇒ <data dir>/backups.")
    license_file: Path | None = Field(None, description="The active license file; unset ⇒ <data dir>/license.lic.")
    backup_interval_hours: float = Field(6, ge=0, description="Scheduled backups by the server; 0 turns them off.")
    audit_anchor_seconds: float = Field(60, ge=1, le=3600,
                                        description="How often the server signs the audit chain heads that moved.")
    backup_keep_days: int = Field(14, ge=1, description="Scheduled pruning removes older backups, never the newest.")
    backup_copy_to: Path | None = Field(None, description="Also copy every backup here (an NFS/SMB mount).")
    backup_copy_keep_days: int = Field(30, ge=1, description="Off-host copies older than this are removed.")
    wal_archive: bool = Field(True, description="Stream the WAL into <backup dir>/wal (pg_receivewal) and take base "
                                                "backups, for point-in-time restores.")
    base_backup_interval_hours: float = Field(24, ge=0, description="Base backups for point-in-time recovery; 0 ⇒ "
                                                                    "none by the server.")
    rpo_seconds: int = Field(300, ge=10, description="Health warns when the WAL archive lags the database by more.")
    standby_peer_url: SecretStr | None = Field(
        None, description="The warm standby's superuser URL: `serve` refuses to start this primary once that "
                          "standby was promoted (and keeps refusing: a marker in the data dir).")
    first_sign_in_file: Path | None = Field(
        None, description="The installer's note of the owner's first password: removed at their first sign-in "
                          "or after 24 hours.")
    workers: int = Field(1, ge=1, le=64, description="Server processes sharing the port (`factoryos serve --workers`).")
    poller: bool = Field(True, description="Poll machines inside `factoryos serve` (off when `factoryos poller` runs).")
    poller_reload_seconds: float = Field(10.0, ge=0.1, le=3600, description="How often the poller re-reads settings.")
    mqtt_publish_reload_seconds: float = Field(
        5.0, ge=0.1, le=3600, description="How often MQTT publishing re-reads the companies' broker settings.")
    ingest_password: SecretStr | None = Field(
        None, description="The ingest processes' broker password (`factoryos ingest`, `factoryos edge broker-acl`).")
    metrics_token: SecretStr | None = Field(None, description="Bearer token for GET /metrics; unset ⇒ /metrics is off.")
    webhook_retry_seconds: float = Field(10.0, gt=0, le=3600, description="First webhook retry wait; doubles to 1 h.")
    webhook_disable_after: int = Field(50, ge=1, description="Failed attempts in a row that disable a webhook endpoint.")
    maintenance_due_seconds: float = Field(
        60.0, ge=0.1, le=3600,
        description="How often the server makes the preventive work orders of plans that fell due.")

    @field_validator("database_url", "owner_database_url", "admin_database_url")
    @classmethod
    def _normalize(cls, value: str | None) -> str | None:
        return normalize_db_url(value) if value else value

    @field_validator("license_file", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @cached_property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"
