"""The running installation seen through `docker compose` (the CLI plugin, v2)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from installer.compose_render import COMPOSE_FILE_NAME
from installer.errors import InstallError

PROJECT = "factoryos"


@dataclass(frozen=True)
class Stack:
    directory: Path
    docker_cli: str = "docker"
    project: str = PROJECT

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

    def up(self, wait_timeout: int) -> None:
        """Start or update every service and wait until all health checks pass."""
        run = self.run(
            "up", "--detach", "--no-build", "--remove-orphans", "--wait", "--wait-timeout", str(wait_timeout)
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
