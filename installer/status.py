"""`factoryos status`: one verdict for a Compose installation, from what can be seen on its host.

The verdict is also the exit code, for monitoring scripts: 0 healthy, 1 degraded (it serves,
but something needs attention), 2 down (it does not serve). It is worked out from the engine,
the containers, the API's health answer and, when the API does not answer, the host's own
files (license, backups, disk), so the report is never empty.
"""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx

from factoryos.backup.catalog import list_backups
from factoryos.client.health_rows import age, gib, health_parts
from factoryos.licensing import LicenseError
from factoryos.licensing import store as license_store
from installer import envfile, tls
from installer.compose_render import STACK_SERVICES
from installer.health import HEALTH_PATH
from installer.layout import Layout
from installer.stack import project_of

# Below this, the host's disk is a problem (images, database growth and backups need room).
DISK_LOW_BYTES = 5 * 1024**3
HEALTH_TIMEOUT = 5.0


class Verdict(IntEnum):
    HEALTHY = 0
    DEGRADED = 1
    DOWN = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Part:
    key: str
    part: str
    state: str  # OK, PROBLEM or — (not judged)
    detail: str


@dataclass
class StatusReport:
    directory: str
    installation: dict[str, Any] | None
    verdict: Verdict = Verdict.HEALTHY
    engine: str = ""
    services: list[dict[str, str]] = field(default_factory=list)
    health: dict[str, Any] | None = None
    parts: list[Part] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    backups_dir: str = ""
    backup_copy_to: str = ""

    def flag(self, verdict: Verdict, problem: str) -> None:
        self.problems.append(problem)
        self.verdict = max(self.verdict, verdict)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.verdict.label,
            "exit_code": int(self.verdict),
            "directory": self.directory,
            "installation": self.installation,
            "engine": self.engine,
            "services": self.services,
            "health": self.health,
            "parts": [asdict(p) for p in self.parts],
            "problems": self.problems,
            "backups_dir": self.backups_dir,
            "backup_copy_to": self.backup_copy_to or None,
        }


def collect(
    directory: Path, *, client_factory: Callable[[], docker.DockerClient] = docker.from_env
) -> StatusReport:
    layout = Layout(directory.resolve())
    state = layout.read_state()
    report = StatusReport(directory=str(layout.root), installation=state, backups_dir=str(layout.backups_dir))
    if state is None:
        report.flag(Verdict.DOWN, f"no FactoryOS installation in {layout.root}")
        return report
    try:
        report.backup_copy_to = envfile.read_env(layout.env_file).get(envfile.BACKUP_COPY_TO, "")
    except OSError:
        pass
    _services(report, layout, client_factory)
    _health(report, layout, str(state.get("url") or ""))
    _host_disk(report, layout)
    return report


def _services(report: StatusReport, layout: Layout, client_factory: Callable[[], docker.DockerClient]) -> None:
    try:
        client = client_factory()
        try:
            version = client.version().get("Version", "?")
            containers = client.api.containers(
                all=True, filters={"label": f"com.docker.compose.project={project_of(layout.root)}"}
            )
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        report.engine = "unreachable"
        report.services = [{"service": name, "state": "unknown", "health": "", "status": "engine unreachable",
                            "image": ""} for name in STACK_SERVICES]  # fmt: skip
        report.flag(Verdict.DOWN, f"the Docker engine does not answer ({_short(exc)}): systemctl start docker")
        return
    report.engine = f"Docker {version}"
    found = {}
    for container in containers:
        labels = container.get("Labels") or {}
        name = labels.get("com.docker.compose.service", "?")
        status = str(container.get("Status", ""))
        health = "unhealthy" if "(unhealthy)" in status else "starting" if "health: starting" in status else (
            "healthy" if "(healthy)" in status else "")  # fmt: skip
        found[name] = {"service": name, "state": str(container.get("State", "")), "health": health,
                       "status": status, "image": str(container.get("Image", ""))}  # fmt: skip
    for name in STACK_SERVICES:
        service = found.get(name) or {"service": name, "state": "missing", "health": "", "status": "", "image": ""}
        report.services.append(service)
        if service["state"] != "running":
            report.flag(Verdict.DEGRADED, f"service {name} is {service['state']}: factoryos logs {name}")
        elif service["health"] not in ("healthy", ""):
            report.flag(Verdict.DEGRADED, f"service {name} is {service['health']}: factoryos logs {name}")
    if not any(s["state"] == "running" for s in report.services):
        report.flag(Verdict.DOWN, "no service is running: factoryos install --dir " + str(layout.root))


def _health(report: StatusReport, layout: Layout, url: str) -> None:
    ca = tls.trust_anchor(layout.tls)
    body: dict[str, Any] | None = None
    why = ""
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        with httpx.Client(verify=context, timeout=HEALTH_TIMEOUT) as client:
            reply = client.get(url + HEALTH_PATH)
        if reply.headers.get("content-type", "").split(";")[0] in ("application/json", "application/problem+json"):
            body = reply.json()  # a 503 problem carries the same parts
        else:
            why = f"HTTP {reply.status_code}"
    except (httpx.HTTPError, ssl.SSLError, ValueError) as exc:
        why = _short(exc)
    if body is None or "database" not in body:
        report.flag(Verdict.DOWN, f"{url} does not answer ({why or 'no health report'})")
        report.parts = [Part("server", "Server", "PROBLEM", f"no answer at {url}"), *_host_parts(layout)]
        return
    report.health = body
    report.parts = [Part(*row) for row in health_parts(body)]
    if body.get("code") == "standby_superseded":  # it answers, but must not be used: down
        report.flag(Verdict.DOWN, f"superseded: {body.get('detail')}")
    for part in report.parts:
        if part.state != "PROBLEM":
            continue
        serving = part.key not in ("server", "database", "migrations")
        report.flag(Verdict.DEGRADED if serving else Verdict.DOWN, f"{part.part}: {part.detail}")


def _host_parts(layout: Layout) -> list[Part]:
    """What the host's files say when the API cannot: the license and the last backup."""
    parts = []
    try:
        document = license_store.load_active(layout.license_dir / license_store.LICENSE_FILE_NAME, allow_expired=True)
    except LicenseError as exc:
        parts.append(Part("license", "License", "PROBLEM", f"the license file is not valid: {exc}"))
    else:
        if document is None:
            parts.append(Part("license", "License", "—", "none activated (Core edition limits)"))
        else:
            now = dt.datetime.now(dt.UTC)
            expired = document.expired(now)
            parts.append(Part("license", "License", "PROBLEM" if expired else "OK",
                              f"{document.edition.value} for {document.customer}, "
                              f"{'expired' if expired else 'until'} {document.expires_at:%Y-%m-%d}"))  # fmt: skip
    latest = next(iter(list_backups(layout.backups_dir)), None)
    if latest is None:
        parts.append(Part("backup", "Last backup", "—", f"none in {layout.backups_dir}"))
    else:
        seconds = int((dt.datetime.now(dt.UTC) - latest.created_at).total_seconds())
        parts.append(Part("backup", "Last backup", "—", f"{age(max(seconds, 0))} ({latest.path.name})"))
    return parts


def _host_disk(report: StatusReport, layout: Layout) -> None:
    try:
        usage = shutil.disk_usage(layout.root)
    except OSError as exc:
        report.flag(Verdict.DEGRADED, f"cannot read the disk of {layout.root}: {exc.strerror}")
        return
    low = usage.free < DISK_LOW_BYTES
    report.parts.append(Part("host_disk", "Host disk", "PROBLEM" if low else "OK",
                             f"{gib(usage.free)} free of {gib(usage.total)} at {layout.root}"))  # fmt: skip
    if low:
        report.flag(Verdict.DEGRADED, f"less than {DISK_LOW_BYTES // 1024**3} GiB free at {layout.root}")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
