"""A paired Compose primary's watch for its promoted standby: what `standby pair` leaves in the api's
data directory (how to reach the standby's database), the check at the server's start and every
`interval` seconds while it serves, and the verdict the server acts on (refuse writes, run no duties).

Unlike `factoryos serve` with FACTORYOS_STANDBY_PEER_URL (the embedded database: it refuses to start),
the api of a superseded Compose primary keeps answering: health names the promotion, reads still work,
every write is refused. The marker (`FENCE_FILE`, in the same folder) keeps it so across restarts, with
the standby away.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from factoryos.backup.standby import FENCE_FILE, REPLICATION_ROLE, PeerLink, StandbyError, check_not_superseded
from factoryos.errors import Conflict
from factoryos.private_files import write_private

log = logging.getLogger(__name__)

FENCE_DIR = "standby"  # under the server's data directory
PEER_FILE = "peer.json"
CA_FILE = "peer-ca.crt"
CHECK_SECONDS = 15.0


@dataclass(frozen=True)
class PeerFile:
    """Written 0600 by `standby pair` on the primary: the standby's database address (once promoted it is
    published there), the replication role's password and the certificate its database presents."""

    host: str
    port: int
    password: str
    ca_pem: str  # "" only between two clusters of one host (tests): TLS not required
    role: str = REPLICATION_ROLE

    def dump(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return write_private(folder / PEER_FILE, self.dump())

    @classmethod
    def read(cls, path: Path) -> PeerFile:
        try:
            body = json.loads(path.read_text())
            return cls(host=str(body["host"]), port=int(body["port"]), password=str(body["password"]),
                       ca_pem=str(body.get("ca_pem") or ""), role=str(body.get("role") or REPLICATION_ROLE))  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StandbyError(f"{path}: not a readable standby peer file ({type(exc).__name__})",
                               code="standby_failed") from None  # fmt: skip

    def link(self, folder: Path) -> PeerLink:
        """The connection, the certificate beside the file (libpq reads it from a file)."""
        ca_file = None
        if self.ca_pem:
            ca_file = folder / CA_FILE
            if not ca_file.exists() or ca_file.read_text() != self.ca_pem:
                ca_file.write_text(self.ca_pem)
        return PeerLink(self.host, self.port, self.password, ca_file, self.role)


def fence_dir(data_dir: Path) -> Path:
    return data_dir / FENCE_DIR


class SupersededWatch:
    """`reason` is None while this primary may serve; once its standby is seen promoted (or the marker
    says it was), the words that say so, for good."""

    def __init__(self, own_url: str, folder: Path, *, interval: float = CHECK_SECONDS,
                 on_fenced: Callable[[str], None] = lambda reason: None) -> None:  # fmt: skip
        self.own_url, self.folder, self.interval, self.on_fenced = own_url, folder, interval, on_fenced
        self.reason: str | None = None
        self._reached = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, data_dir: Path, own_url: str | None, **kw: object) -> SupersededWatch | None:
        """A watch for a paired primary (a peer file or a marker in the data directory), else None."""
        folder = fence_dir(data_dir)
        if not own_url or not ((folder / PEER_FILE).exists() or (folder / FENCE_FILE).exists()):
            return None
        return cls(own_url, folder, **kw)  # type: ignore[arg-type]

    def check(self) -> str | None:
        if self.reason is not None:
            return self.reason
        peer = self.folder / PEER_FILE
        try:
            link = PeerFile.read(peer).link(self.folder) if peer.exists() else None
            reached = check_not_superseded(self.own_url, link, self.folder, quiet=True)
            if reached != self._reached and link is not None:  # said once per change, not every interval
                say = log.info if reached else log.warning
                say("the standby at %s:%d %s", link.host, link.port,
                    "answers the check for a promotion" if reached else "cannot be reached to check for a promotion")
            self._reached = reached
        except Conflict as exc:
            self.reason = exc.detail
            log.error("%s", exc.detail)
        except Exception as exc:  # this database or the peer file unreadable: check again later
            log.warning("the check for a promoted standby failed: %s", type(exc).__name__)
        return self.reason

    def start(self) -> None:
        """Check every `interval` s in the background; `on_fenced` runs once, when the promotion is seen."""
        if self.reason is not None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="standby fence", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if (reason := self.check()) is not None:
                self.on_fenced(reason)
                return
