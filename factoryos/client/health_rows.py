"""Server health as rows a person reads: one part each (server, database, migrations, poller,
duties, disk, last backup, license), its state and what it says. Shared by the TUI's System tab and the
installer's summary; plain values, no UI."""

from __future__ import annotations

import datetime as dt
from typing import Any


def state(ok: bool | None) -> str:
    return "—" if ok is None else ("OK" if ok else "PROBLEM")


def age(seconds: int | None) -> str:
    if seconds is None:
        return "none yet"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds // 86400} days ago"


def gib(size: int | None) -> str:
    return "?" if size is None else f"{size / 1024**3:.1f} GiB"


def health_parts(h: dict[str, Any], config: Any = None) -> list[tuple[str, str, str, str]]:
    """(key, part, state, detail) rows from GET /system/health; with `config` (GET /system/config)
    the database row names where it is."""
    db, mig = h.get("database") or {}, h.get("migrations") or {}
    poller, disk = h.get("poller") or {}, h.get("disk") or {}
    backup, lic = h.get("backup") or {}, h.get("license") or {}
    where = "reachable" if db.get("ok") else "unreachable"
    if config is not None:
        d = config.database
        where = f"{d.mode}, database {d.name}" + (f" on {d.host}:{d.port or 5432}" if d.host else "")
        where += f", pool {d.pool_size}"
    rows = [
        ("server", "Server", state(h.get("status") == "ok"), f"FactoryOS {h.get('version', '?')}"),
        ("database", "Database", state(db.get("ok")), where + _extra(db)),
        ("migrations", "Migrations", state(mig.get("ok")),
         f"at {mig.get('current') or 'none'} (head {mig.get('head')})" + _extra(mig)),
    ]
    if h.get("code") == "standby_superseded":  # its standby was promoted: this server must not be used
        rows.insert(1, ("standby", "Standby", "PROBLEM", str(h.get("detail") or "")))
    if poller.get("state") == "running":
        rows.append(("poller", "Poller", state(poller.get("ok")),
                     f"{poller.get('machines', 0)} machines, {poller.get('connected', 0)} connected, "
                     f"{poller.get('failing', 0)} failing" + _extra(poller)))
    else:
        rows.append(("poller", "Poller", state(None), "off in this server" + _extra(poller)))
    if duties := h.get("duties"):
        rows.append(("duties", "Duties", state(duties.get("ok")), _duties(duties)))
    rows.append(("disk", "Disk", state(disk.get("ok")),
                 f"{gib(disk.get('free_bytes'))} free of {gib(disk.get('total_bytes'))}" + _extra(disk)))
    every = f"every {backup['interval_hours']:g} h" if backup.get("interval_hours") else "not scheduled"
    rows.append(("backup", "Last backup", state(backup.get("ok")),
                 f"{age(backup.get('age_seconds'))}, {every}" + _extra(backup)))
    if wal := backup.get("wal"):
        lag = "?" if wal.get("lag_seconds") is None else f"{wal['lag_seconds']} s"
        rows.append(("wal", "WAL archive", state(wal.get("ok")),
                     f"{wal.get('state', '?')}, lag {lag} (RPO {wal.get('rpo_seconds')} s), last complete "
                     f"{age(_seconds_since(wal.get('last_success_at')))}, {wal.get('base_backups', 0)} base backups"
                     + _extra(wal)))
    if replication := h.get("replication"):
        rows.append(("replication", "Replication", state(replication.get("ok")), _replication(replication)))
    licensed = None if lic.get("status") == "evaluation" else lic.get("valid")  # evaluating is no fault
    rows.append(("license", "License", state(licensed),
                 f"{lic.get('status', '?')}, {str(lic.get('edition', '?')).title()}" + _extra(lic)))
    return rows


def _duties(part: dict[str, Any]) -> str:
    if not part.get("ok"):
        return "no server process holds them: polling, backups, webhooks and publishing wait"
    since = part.get("since")
    if since is None:
        return "run by this server"
    return f"held since {dt.datetime.fromisoformat(since):%Y-%m-%d %H:%M} UTC"


def _replication(part: dict[str, Any]) -> str:
    def lag(seconds: float | None, size: int | None) -> str:
        return f"lag {'?' if seconds is None else f'{seconds:.1f} s'}, {'?' if size is None else size} bytes"

    rpo = f" (RPO {part.get('rpo_seconds')} s)"
    if part.get("role") == "standby":
        streaming = "streaming" if part.get("streaming") else "not streaming"
        return f"standby, {streaming}, {lag(part.get('lag_seconds'), part.get('lag_bytes'))}{rpo}" + _extra(part)
    standbys = "; ".join(f"{s['name']} {s['state']}, {lag(s.get('lag_seconds'), s.get('lag_bytes'))}"
                         for s in part.get("standbys") or [])  # fmt: skip
    return f"primary, standby {standbys}{rpo}" + _extra(part)


def _seconds_since(at: str | None) -> int | None:
    if not at:
        return None
    moment = dt.datetime.fromisoformat(at)
    return max(0, int((dt.datetime.now(dt.UTC) - moment).total_seconds()))


def _extra(part: dict[str, Any]) -> str:
    return f"; {part['detail']}" if part.get("detail") else ""
