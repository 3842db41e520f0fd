"""System endpoints: health (public, for load balancers and the installer) and the
configuration in force (admin.system).

Only the database and the migrations decide 200/503; the other parts inform. Health is
public, so it names states and figures, never paths, customers or error messages. The
configuration lists settings by name from an allow-list: never a URL, password or key.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from typing import Any
from sqlalchemy import make_url
from starlette.responses import JSONResponse, Response

from factoryos import __version__
from factoryos.backup.catalog import backup_dir
from factoryos.backup.service import BackupService
from factoryos.config import Settings
from factoryos.db.engine import health_engine
from factoryos.db.migrate import head_revision
from factoryos.db.probe import DatabaseProbe
from factoryos.duties import DutyHolder
from factoryos.licensing.active import LicenseState
from factoryos.licensing.gating import edition_of, limits_of
from factoryos.licensing.store import default_license_path
from factoryos.system.models import (
    BackupHealth,
    ComponentHealth,
    DatabaseConfig,
    DiskHealth,
    DutiesHealth,
    Health,
    LicenseHealth,
    LicenseLimits,
    MigrationHealth,
    PollerHealth,
    ReplicationHealth,
    StandbyHealth,
    SystemConfig,
    WalArchiveHealth,
)
from server.api import PUBLIC, Context, Router
from server.maintenance import RETRY_AFTER_SECONDS
from server.problem import problem
from server.state import ServerState

router = Router(prefix="/api/v1/system", tags=("system",))

DISK_LOW_BYTES = 2 * 1024**3


@router.get("/health", permission=PUBLIC, response=Health, uses_db=False)
def health(ctx: Context) -> Response:
    """Database reachable and migrations at head (200), plus poller, disk, backups, license, replication
    and whether a server process holds the duties (polling, scheduled backups, webhooks).

    Answers within 2 s whatever the database does. When the database cannot be reached or does
    not answer in time (1.5 s), or the migrations are behind, the answer is 503
    `application/problem+json` with `code` `database_unavailable` or `migrations_behind`, carrying
    the same parts as extension members (`database`, `migrations`, `poller`, …)."""
    head = head_revision()
    db = ComponentHealth(ok=False)
    migrations = MigrationHealth(ok=False, head=head)
    probe = _probe(ctx.state).check()
    if probe.reachable:
        db = ComponentHealth(ok=True)
        migrations.current = probe.revision
        migrations.ok = migrations.current == head
        if not migrations.ok:
            migrations.detail = "run `factoryos db upgrade`"
    else:
        db.detail = probe.detail
    healthy = db.ok and migrations.ok
    now = dt.datetime.now(dt.UTC)
    body = Health(
        status="ok" if healthy else "unavailable",
        version=__version__,
        database=db,
        migrations=migrations,
        poller=_poller(ctx.state.poller),
        disk=_disk(ctx.settings),
        backup=_backup(ctx.state.backups, now),
        license=_license(ctx.state.license, now),
        replication=_replication(ctx.state.backups, ctx.settings.rpo_seconds) if db.ok else None,
        duties=_duties(ctx.state, probe.duty_holder) if db.ok else None,
    )
    if healthy:
        return JSONResponse(body.model_dump(mode="json"))
    parts = body.model_dump(mode="json", exclude={"status"})
    if not db.ok:
        detail = (f"the database did not answer within {_probe(ctx.state).deadline:g} s" if probe.timed_out
                  else f"the database cannot be reached ({probe.detail})")
        return problem(503, "database_unavailable", "Database unavailable", detail, request_id=ctx.request_id,
                       instance=ctx.request.url.path, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}, **parts)
    return problem(503, "migrations_behind", "Database schema out of date",
                   f"the database is at revision {migrations.current or 'none'}, this server needs {head}: "
                   "run `factoryos db upgrade`", request_id=ctx.request_id, instance=ctx.request.url.path, **parts)


_PROBE_LOCK = threading.Lock()


def _probe(state: ServerState) -> DatabaseProbe:
    """One probe per app, on the app's database URL, made on first use."""
    with _PROBE_LOCK:
        probe = state.db_probe
        if probe is None or probe.engine.url != state.engine.url:
            probe = state.db_probe = DatabaseProbe(health_engine(state.engine.url))
        return probe


def _duties(state: ServerState, held_by: DutyHolder | None) -> DutiesHealth:
    if held_by is not None:
        return DutiesHealth(ok=True, since=held_by.since)
    # A server started without a claim on the lock (the demo, a test) runs every duty itself.
    return DutiesHealth(ok=state.primary)


def _poller(runtime: Any) -> PollerHealth:
    if runtime is None:
        return PollerHealth(state="off")
    statuses = runtime.statuses()
    failing = sum(1 for s in statuses if s.last_error is not None)
    connected = sum(1 for s in statuses if s.last_error is None and s.last_ok is not None)
    forwarder = getattr(runtime, "forwarder", None)
    problem = getattr(runtime, "last_reload_error", None) or getattr(forwarder, "last_error", None)
    detail = str(problem).split(":", 1)[0] if problem else None  # the kind of failure, not its text
    return PollerHealth(
        ok=failing == 0 and detail is None,
        state="running",
        machines=len(statuses),
        connected=connected,
        failing=failing,
        detail=detail,
    )


def _disk(settings: Settings) -> DiskHealth:
    where = settings.data_dir
    try:
        usage = shutil.disk_usage(where)
    except OSError as exc:
        return DiskHealth(ok=False, detail=f"data directory: {exc.strerror}")
    low = usage.free < DISK_LOW_BYTES
    return DiskHealth(
        ok=not low,
        free_bytes=usage.free,
        total_bytes=usage.total,
        detail=f"less than {DISK_LOW_BYTES // 1024**3} GiB free" if low else None,
    )


def _backup(service: BackupService | None, now: dt.datetime) -> BackupHealth | None:
    if service is None:
        return None
    latest = service.latest()
    interval = service.interval if service.scheduled else None
    health = BackupHealth(scheduled=service.scheduled, interval_hours=interval.total_seconds() / 3600 if interval else None)
    if latest is not None:
        health.last_at = latest.created_at
        health.age_seconds = max(0, int((now - latest.created_at).total_seconds()))
    if interval is not None:
        # Two intervals of grace: one scheduled run may fail or be running.
        health.ok = latest is not None and now - latest.created_at <= 2 * interval and service.last_error is None
    health.detail = "the last scheduled backup failed (see GET /api/v1/backup)" if service.last_error else None
    if service.last_copy_error:
        # The dumps are here but not on the other storage: losing this disk would lose them.
        health.ok = False
        health.detail = "; ".join(filter(None, (
            health.detail, "the last off-host copy failed (see the server log; backups here are fine)")))
    if latest is None:
        health.detail = health.detail or "no backup yet"
    if not service.available:
        health.detail = "this server cannot take backups (no superuser database URL)"
    if service.archiver is not None:
        wal = service.archiver.status(now)
        health.wal = WalArchiveHealth(ok=wal.ok, state=wal.state, lag_seconds=wal.lag_seconds,
                                      rpo_seconds=wal.rpo_seconds, last_success_at=wal.last_success_at,
                                      base_backups=wal.base_backups, last_base_at=wal.last_base_at,
                                      free_bytes=wal.free_bytes, detail=wal.detail)  # fmt: skip
        if not wal.ok:
            health.ok = False
    return health


def _replication(service: BackupService | None, rpo_seconds: int) -> ReplicationHealth | None:
    status = service.replication(rpo_seconds) if service is not None else None
    if status is None:
        return None
    standbys = [StandbyHealth(name=s.name, state=s.state, lag_bytes=s.lag_bytes, lag_seconds=s.lag_seconds)
                for s in status.standbys]  # fmt: skip
    return ReplicationHealth(ok=status.ok, role=status.role, rpo_seconds=status.rpo_seconds, standbys=standbys,
                             streaming=status.streaming, lag_bytes=status.lag_bytes, lag_seconds=status.lag_seconds,
                             detail=status.detail)  # fmt: skip


def _license(state: LicenseState | None, now: dt.datetime) -> LicenseHealth | None:
    if state is None:
        return None
    document = state.document
    in_force = state.in_force(now)
    limits = limits_of(in_force)
    detail = f"license file not in force ({state.code})" if state.problem else None
    if detail is None and document is None:
        detail = "no license activated: evaluation allowance"
    elif detail is None and document is not None and in_force is None:
        detail = f"expired on {document.expires_at:%Y-%m-%d}: evaluation allowance applies"
    return LicenseHealth(
        status=state.status(now),
        valid=in_force is not None,
        edition=edition_of(in_force).value,
        expires_at=document.expires_at if document else None,
        limits=LicenseLimits(**limits.model_dump()),
        detail=detail,
    )


@router.get("/config", permission="admin.system", response=SystemConfig)
def system_config(ctx: Context) -> SystemConfig:
    """The server's non-secret settings (never URLs with credentials, passwords or keys)."""
    settings = ctx.settings
    url = make_url(settings.database_url) if settings.database_url else None
    backups = ctx.state.backups
    return SystemConfig(
        version=__version__,
        listen=f"{settings.host}:{settings.port}",
        tls=settings.tls_cert is not None,
        log_level=settings.log_level,
        trusted_proxies=list(settings.trusted_proxies),
        max_body_bytes=settings.max_body_bytes,
        database=DatabaseConfig(
            mode="embedded" if settings.embedded else "external",
            name=(url.database if url else None) or settings.database_name,
            host=url.host if url else None,
            port=url.port if url else None,
            pool_size=settings.db_pool_size,
        ),
        data_dir=str(settings.data_dir),
        backup_dir=str(backup_dir(settings)),
        backups_available=bool(backups and backups.available),
        backup_interval_hours=settings.backup_interval_hours,
        backup_keep_days=settings.backup_keep_days,
        poller_enabled=settings.poller,
        poller_running=ctx.state.poller is not None,
        poller_reload_seconds=settings.poller_reload_seconds,
        license_file=str(default_license_path(settings)),
    )
