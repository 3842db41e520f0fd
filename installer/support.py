"""`factoryos support-bundle`: what a vendor needs to diagnose a site it cannot reach, in one
.tar.gz the admin can read before sending it. Secrets never leave: the .env's values are
redacted except for the plain settings, and nothing else of the installation's secrets is read.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker

from factoryos import __version__
from installer import envfile
from installer.checks import memory_bytes, read_os_release, run_checks
from installer.layout import Layout
from installer.stack import Stack
from installer.status import collect

REDACTED = "<redacted>"
# .env settings that are not secret and help the diagnosis; every other value is redacted.
_PLAIN_SETTINGS = {"FACTORYOS_BIND_IP", "FACTORYOS_HTTPS_PORT", "FACTORYOS_LOG_LEVEL", envfile.FRONTEND_SUBNET,
                   envfile.VERSION}  # fmt: skip
# user:password@ in URLs and key=value pairs named like secrets, wherever they appear in text.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):[^@\s]+@", re.IGNORECASE)


def redact_env(values: dict[str, str]) -> str:
    lines = ["# The installation's .env, secrets redacted by `factoryos support-bundle`"]
    for key, value in values.items():
        lines.append(f"{key}='{value if key in _PLAIN_SETTINGS else REDACTED}'")
    return "\n".join(lines) + "\n"


def redact_text(text: str, secrets: list[str]) -> str:
    """Any known secret value, and the password of any URL, replaced (logs, compose file)."""
    for secret in sorted((s for s in secrets if len(s) >= 8), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)


def _command(args: list[str]) -> str:
    try:
        run = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"({' '.join(args)} failed: {exc})"
    return (run.stdout + run.stderr).strip()


def _host_figures(layout: Layout, docker_root: str | None) -> dict[str, Any]:
    figures: dict[str, Any] = {"cpus": os.cpu_count(), "kernel": platform.release(), "disks": {}}
    try:
        figures["memory_total_bytes"] = memory_bytes()
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                figures["memory_available_bytes"] = int(line.split()[1]) * 1024
        figures["load_average"] = list(os.getloadavg())
    except (OSError, ValueError) as exc:
        figures["memory_error"] = str(exc)
    for label, path in (("install_dir", layout.root), ("docker_root", docker_root)):
        if path and Path(path).exists():
            usage = shutil.disk_usage(path)
            figures["disks"][label] = {"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total}
    return figures


def _docker_root(client_factory: Callable[[], docker.DockerClient]) -> tuple[str | None, dict[str, Any]]:
    try:
        client = client_factory()
        try:
            info = client.info()
            version = client.version()
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        return None, {"error": str(exc)}
    engine = {"version": version.get("Version"), "api": version.get("ApiVersion"),
              "storage_driver": info.get("Driver"), "containers": info.get("Containers")}  # fmt: skip
    return info.get("DockerRootDir"), engine


def build_support_bundle(
    directory: Path,
    output: Path,
    *,
    tail: int = 500,
    client_factory: Callable[[], docker.DockerClient] = docker.from_env,
    docker_cli: str = "docker",
    progress: Callable[[str], None] = lambda message: None,
) -> list[str]:
    """Write the archive (atomically) and return the names of its members."""
    layout = Layout(directory.resolve())
    stack = Stack(layout.root, docker_cli=docker_cli)
    env = envfile.read_env(layout.env_file) if layout.env_file.exists() else {}
    secrets = [value for key, value in env.items() if key not in _PLAIN_SETTINGS and value]
    state = layout.read_state()
    members: dict[str, str] = {}

    progress("versions and status")
    docker_root, engine = _docker_root(client_factory)
    members["versions.json"] = json.dumps({
        "cli": __version__, "installed": (state or {}).get("version"), "engine": engine,
        "compose": _command([docker_cli, "compose", "version", "--short"]),
        "os": read_os_release().pretty_name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }, indent=2, default=str)  # fmt: skip
    members["status.json"] = json.dumps(collect(layout.root, client_factory=client_factory).to_json(), indent=2)
    members["install.json"] = json.dumps(state, indent=2)
    members["host.json"] = json.dumps(_host_figures(layout, docker_root), indent=2)

    progress("system checks")
    exempt = sorted(stack.published_ports())
    port = int(env.get("FACTORYOS_HTTPS_PORT") or (state or {}).get("https_port") or 443)
    checks = run_checks(install_dir=layout.root, bind_ip=env.get("FACTORYOS_BIND_IP") or "127.0.0.1", ports=[port],
                        exempt_ports=exempt, client_factory=client_factory, docker_cli=docker_cli,
                        fresh=not env)  # fmt: skip
    members["checks.json"] = json.dumps([
        {"name": c.name, "status": c.status.value, "detail": c.detail, "fix": c.fix} for c in checks
    ], indent=2)  # fmt: skip

    progress("configuration")
    if stack.compose_file.exists():
        members["docker-compose.yml"] = redact_text(stack.compose_file.read_text(), secrets)
    members["env.redacted"] = redact_env(env)

    for service in ("postgres", "api", "nginx"):
        progress(f"last {tail} log lines of {service}")
        run = stack.run("logs", "--no-log-prefix", "--timestamps", "--tail", str(tail), service, timeout=120)
        text = run.stdout + run.stderr if run.returncode == 0 else f"(docker compose logs failed: {run.stderr})"
        members[f"logs/{service}.log"] = redact_text(text, secrets)

    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    stamp = dt.datetime.now(dt.UTC).timestamp()
    with tarfile.open(partial, "w:gz") as archive:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"factoryos-support/{name}")
            info.size, info.mtime, info.mode = len(data), int(stamp), 0o600
            archive.addfile(info, io.BytesIO(data))
    os.chmod(partial, 0o600)
    partial.replace(output)
    return sorted(members)
