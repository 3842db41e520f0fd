"""The running installation seen through `docker compose` (the CLI plugin, v2)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from installer.compose_render import COMPOSE_FILE_NAME
from installer.errors import InstallError

PROJECT = "factoryos"
# Set only by `install --project-name` (a second installation on one engine: a warm standby beside its
# primary in a test); every other install keeps PROJECT, so upgrades find their containers.
PROJECT_ENV = "FACTORYOS_COMPOSE_PROJECT"


def project_of(directory: Path) -> str:
    """The Compose project of the installation in `directory` (its .env says, else the default)."""
    try:
        return str(dotenv_values(directory / ".env").get(PROJECT_ENV) or PROJECT)
    except OSError:
        return PROJECT


@dataclass(frozen=True)
class Stack:
    directory: Path
    docker_cli: str = "docker"
    project: str = ""  # "": the installation's own (project_of)

    def __post_init__(self) -> None:
        if not self.project:
            object.__setattr__(self, "project", project_of(self.directory))

    @property
    def compose_file(self) -> Path:
        return self.directory / COMPOSE_FILE_NAME

    @property
    def env_file(self) -> Path:
        return self.directory / ".env"

    def command(self, *args: str) -> list[str]:
        return [
            self.docker_cli, "compose",
            "--project-name", self.project,
            "--project-directory", str(self.directory),
            "--file", str(self.compose_file),
            "--env-file", str(self.env_file),
            *args,
        ]  # fmt: skip

    def run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout, check=False)

    def run_input(self, data: bytes, *args: str, timeout: float | None = 120) -> subprocess.CompletedProcess[bytes]:
        """`run` with `data` on stdin (a file or a script for a container; never in argv)."""
        return subprocess.run(self.command(*args), input=data, capture_output=True, timeout=timeout, check=False)

    def up(self, wait_timeout: int, services: tuple[str, ...] = ()) -> None:
        """Start or update every service (or just `services`) and wait until their health checks pass."""
        run = self.run(
            "up", "--detach", "--no-build", "--remove-orphans", "--wait", "--wait-timeout", str(wait_timeout),
            *services,
        )
        if run.returncode != 0:
            raise InstallError(
                f"the services did not become healthy: {_tail(run.stderr, 3)}{self._unhealthy_logs()}",
                code="services_unhealthy",
            )

    def _unhealthy_logs(self) -> str:
        """The last log lines of each service that is not healthy: the rollback removes them."""
        parts = []
        for service in self.services():
            if service.get("Health") in ("", "healthy") and service.get("State") == "running":
                continue
            name = str(service.get("Service"))
            logs = self.run("logs", "--no-log-prefix", "--tail", "15", name)
            if not (logs.stdout + logs.stderr).strip():
                continue
            parts.append(
                f"\n--- last lines of {name} ({service.get('State')}, {service.get('Health') or 'no health'}):\n"
                + _tail(logs.stdout + logs.stderr, 15)
            )
        return "".join(parts)

    def down(self, *, volumes: bool = False) -> None:
        args = ["down", "--remove-orphans"] + (["--volumes"] if volumes else [])
        run = self.run(*args)
        if run.returncode != 0:
            raise InstallError(f"docker compose down failed: {_tail(run.stderr)}", code="compose_down_failed")

    def services(self) -> list[dict[str, object]]:
        """One dict per container (Service, State, Health, Publishers…); [] when nothing runs."""
        if not self.compose_file.exists():
            return []
        run = self.run("ps", "--all", "--format", "json")
        if run.returncode != 0:
            return []
        text = run.stdout.strip()
        if not text:
            return []
        # Compose prints a JSON array up to 2.20 and one object per line since 2.21.
        if text.startswith("["):
            return list(json.loads(text))
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def published_ports(self) -> set[int]:
        ports: set[int] = set()
        for service in self.services():
            for publisher in service.get("Publishers") or []:  # type: ignore[union-attr]
                if publisher.get("PublishedPort"):
                    ports.add(int(publisher["PublishedPort"]))
        return ports

    def logs(self, services: list[str], *, follow: bool, tail: int) -> int:
        args = ["logs", "--tail", str(tail), "--timestamps"] + (["--follow"] if follow else []) + services
        return subprocess.call(self.command(*args))


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
