"""A real PostgreSQL 16 from the `pgserver` package, living in `<data dir>/pg`.

One FactoryOS process owns the embedded server at a time: it holds an exclusive
`flock` on `<data dir>/embedded.lock` for as long as it runs the server, so a second
process gets a clear error instead of two writers fighting over one cluster. The
server listens only on a Unix socket inside the data directory (no TCP port).
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import signal
import subprocess
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

from factoryos.errors import FactoryOSError

if TYPE_CHECKING:  # pgserver is imported lazily: it is only needed in embedded mode
    from pgserver.postgres_server import PostgresServer

log = logging.getLogger(__name__)


class EmbeddedError(FactoryOSError):
    code = "embedded_db_error"
    status = 503
    title = "Embedded database error"


class EmbeddedLocked(EmbeddedError):
    code = "embedded_db_locked"


class EmbeddedPostgres:
    """Start, reuse and stop the embedded cluster; hand out connection URLs."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.pgdata = self.data_dir / "pg"
        self._lock_file: int | None = None
        self._server: PostgresServer | None = None
        self.socket_dir: str | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> EmbeddedPostgres:
        self._acquire_lock()
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (root, containers): harmless here.
                warnings.simplefilter("ignore")
                import pgserver

                self._server = pgserver.get_server(self.pgdata, cleanup_mode=None)
            query = parse_qs(urlparse(self._server.get_uri()).query)
            self.socket_dir = query["host"][0]
        except FactoryOSError:
            self._release_lock()
            raise
        except Exception as exc:  # pgserver raises plain errors; give the user a reason and the log
            self._release_lock()
            raise EmbeddedError(
                f"could not start the embedded PostgreSQL in {self.pgdata}: {exc}. "
                f"See {self.pgdata / 'log'} for the server log."
            ) from None
        log.info("embedded PostgreSQL ready in %s", self.pgdata)
        return self

    def stop(self) -> None:
        """Fast shutdown (rolls back open transactions, checkpoints, exits)."""
        if self._server is None:
            return
        from pgserver.postgres_server import POSTGRES_BIN_PATH

        try:
            try:
                subprocess.run(
                    [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"],
                    check=False,
                    capture_output=True,
                    user=self._server.system_user,
                    timeout=60,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                # e.g. the binaries became unreachable for PostgreSQL's own user: stop it directly.
                log.warning("pg_ctl stop failed (%s); signalling the postmaster", exc)
                self._signal_postmaster()
        finally:
            # pgserver caches one handle per data dir; drop it so a later start really starts.
            server, self._server = self._server, None
            type(server)._instances.pop(server.pgdata, None)
            server.global_process_id_list.get_and_remove(os.getpid())
            atexit.unregister(server._cleanup)
            self._release_lock()

    def _signal_postmaster(self, wait: float = 60.0) -> None:
        """SIGINT is PostgreSQL's fast shutdown, as `pg_ctl -m fast stop` sends it."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGINT)
        except (OSError, ValueError, IndexError) as exc:
            log.error("could not stop the embedded PostgreSQL in %s: %s", self.pgdata, exc)
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        log.error("the embedded PostgreSQL (pid %d) did not stop within %.0f s", pid, wait)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- URLs ----------------------------------------------------------------------
    def url(self, role: str = "postgres", database: str = "postgres") -> str:
        if self.socket_dir is None:
            raise EmbeddedError("the embedded PostgreSQL is not running")
        return f"postgresql+psycopg://{role}@/{database}?host={self.socket_dir}"

    @staticmethod
    def bin_dir() -> Path:
        from pgserver.postgres_server import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    # -- locking -------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EmbeddedError(
                f"data directory {self.data_dir} cannot be created: {exc.strerror}. "
                "Choose another with FACTORYOS_DATA_DIR."
            ) from None
        if not os.access(self.data_dir, os.W_OK | os.X_OK):
            raise EmbeddedError(
                f"data directory {self.data_dir} is not writable by this user. "
                "Fix its permissions or choose another with FACTORYOS_DATA_DIR."
            )
        path = self.data_dir / "embedded.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise EmbeddedError(f"cannot open lock file {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise EmbeddedLocked(
                f"data directory {self.data_dir} is in use by FactoryOS process {holder}. "
                "Stop that process, or point FACTORYOS_DATA_DIR at another directory."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_file = fd

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            os.close(self._lock_file)
            self._lock_file = None
