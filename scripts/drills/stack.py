"""A throwaway FactoryOS stack for drills and benchmarks: an embedded PostgreSQL in a temp
directory, migrated to head, and `factoryos serve` in its own process on a loopback port.

The server runs against the database through FACTORYOS_DATABASE_URL (not its own
embedded cluster), so a drill can kill -9 the server while PostgreSQL keeps running,
exactly like a crashed API process in front of the compose database.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import make_url

from factoryos.db import migrate
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import DatabaseUrls, embedded_urls
from factoryos.db.roles import init_database
from factoryos.licensing.document import Edition, License, Limits
from factoryos.licensing.keys import public_pem
from factoryos.licensing.signing import sign_license

DATABASE = "factoryos"
REPO_ROOT = Path(__file__).resolve().parents[2]

# Sign-up is not what drills measure: cheap hashing keeps seeding hundreds of operators quick.
CHEAP_HASHING = {
    "FACTORYOS_ARGON2_TIME_COST": "1",
    "FACTORYOS_ARGON2_MEMORY_KIB": "64",
    "FACTORYOS_ARGON2_PARALLELISM": "1",
}


def drill_license(directory: Path) -> dict[str, str]:
    """A license from a throwaway vendor key, large enough for a whole factory (the evaluation
    allowance is 50 machines and 25 users per company); returns the env that makes the server use it."""
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    (directory / "drill-vendor.pub.pem").write_bytes(public_pem(key))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    document = License(license_id=f"drill-{uuid.uuid4().hex[:8]}", customer="FactoryOS drills",
                       edition=Edition.ENTERPRISE, limits=Limits(machines=100_000, users=100_000, sites=1_000),
                       issued_at=now, expires_at=now + dt.timedelta(days=2))
    (directory / "license.lic").write_text(sign_license(document, key) + "\n")
    return {"FACTORYOS_LICENSE_PUBLIC_KEY": str(directory / "drill-vendor.pub.pem"),
            "FACTORYOS_LICENSE_FILE": str(directory / "license.lic")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def scratch_dir(prefix: str = "factoryos-drill-") -> Iterator[Path]:
    """Outside pytest's basetemp (reset to 0700, which locks out PostgreSQL's unprivileged user)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def embedded_database(data_dir: Path, name: str = DATABASE) -> Iterator[DatabaseUrls]:
    """A fresh embedded cluster with the FactoryOS roles and schema at head."""
    pg = EmbeddedPostgres(data_dir).start()
    try:
        urls = embedded_urls(pg, name)
        init_database(urls.admin, name)
        migrate.upgrade(urls.owner)
        yield urls
    finally:
        pg.stop()


def superuser_url(urls: DatabaseUrls, name: str = DATABASE) -> str:
    """The admin URL pointed at the FactoryOS database: bypasses RLS, for checking behind the app's back."""
    if urls.admin is None:
        raise ValueError("these database URLs carry no superuser URL")
    return make_url(urls.admin).set(database=name).render_as_string(hide_password=False)


def child_pids(pid: int) -> list[int]:
    """Descendant process ids (uvicorn workers and the like)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = Path(f"/proc/{parent}/task").iterdir()
            kids = [int(k) for t in tasks for k in (t / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        out += kids
        todo += kids
    return out


class ServerProcess:
    """`factoryos serve` in a child process; restartable, killable, measurable."""

    def __init__(self, app_url: str, data_dir: Path, *, port: int | None = None,
                 env: dict[str, str] | None = None, workers: int = 1) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self.env = {
            **os.environ,
            "FACTORYOS_DATA_DIR": str(data_dir / "server"),
            "FACTORYOS_DATABASE_URL": app_url,
            "FACTORYOS_HOST": "127.0.0.1",
            "FACTORYOS_PORT": str(self.port),
            "FACTORYOS_LOG_LEVEL": "warning",
            "FACTORYOS_SECRET_KEY": "drill-secret-" + "k" * 40,  # tokens stay valid across restarts
            "FACTORYOS_ACCESS_TOKEN_MINUTES": "60",
            **CHEAP_HASHING,
            **drill_license(data_dir / "license"),
            **(env or {}),
        }
        self.workers = workers  # on the command line, as an admin passes it
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from cli.main import main; main()", "serve", "--workers", str(self.workers)],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/api/v1/system/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy within {timeout:.0f} s; see {self.log_path}")

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("server not started")
        return self.proc.pid

    def kill9(self) -> None:
        """SIGKILL: no shutdown handlers, open requests and transactions cut off mid-way."""
        os.kill(self.pid, signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def rss_mib(self) -> float:
        """Resident memory of the server now (its worker processes included)."""
        total = 0.0
        for pid in [self.pid, *child_pids(self.pid)]:
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except FileNotFoundError:
                continue
            total += next((int(x.split()[1]) / 1024 for x in lines if x.startswith("VmRSS:")), 0.0)
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used so far (its worker processes included)."""
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the server process and its live children."""
        user = system = 0.0
        for pid in [self.pid, *child_pids(self.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            user += int(fields[11]) / os.sysconf("SC_CLK_TCK")
            system += int(fields[12]) / os.sysconf("SC_CLK_TCK")
        return user, system

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
