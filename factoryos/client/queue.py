"""An on-disk FIFO of API calls waiting for the server, one JSON file per call.

Each file carries its Idempotency-Key, so a call that did reach the server before the
connection dropped is stored once however often it is sent, and `meta`: what the operator
chose when typing it (machine, shift instance, quantities), so a refused call can be shown
and fixed. Files are written to a temporary name, flushed and renamed, so a power cut
leaves either the whole entry or none. Calls the server refused wait in `failed/` until the
operator resends, fixes or discards them; files written before `meta` existed read as
`meta=None` and are shown from their body.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{20})-([A-Za-z0-9-]+)\.json$")


@dataclass(frozen=True)
class Pending:
    seq: int
    key: str
    method: str
    path: str
    body: dict[str, Any] | None
    label: str
    queued_at: str
    error: dict[str, Any] | None = field(default=None)
    meta: dict[str, Any] | None = field(default=None)

    @property
    def filename(self) -> str:
        return f"{self.seq:020d}-{self.key}.json"


_FIELDS = frozenset(f.name for f in fields(Pending))


def new_key() -> str:
    return str(uuid.uuid4())


class OfflineQueue:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.failed_dir = root / "failed"
        self._lock = threading.Lock()
        self._last_seq = 0

    def _next_seq(self) -> int:
        existing = [p.seq for p in self.items()]
        seq = max([time.time_ns(), self._last_seq + 1, *(s + 1 for s in existing)])
        self._last_seq = seq
        return seq

    def put(self, method: str, path: str, body: dict[str, Any] | None, label: str, key: str | None = None,
            meta: dict[str, Any] | None = None) -> Pending:
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            item = Pending(
                seq=self._next_seq(), key=key or new_key(), method=method, path=path, body=body, label=label,
                queued_at=datetime.now(UTC).isoformat(), meta=meta,
            )
            _write_atomic(self.root / item.filename, asdict(item))
            log.info("queued %s %s (%s) as %s", method, path, label, item.key)
            return item

    def items(self) -> list[Pending]:
        """Waiting calls, oldest first."""
        return _read_dir(self.root)

    def failed(self) -> list[Pending]:
        """Calls the server refused, oldest first."""
        return _read_dir(self.failed_dir)

    def failed_count(self) -> int:
        if not self.failed_dir.is_dir():
            return 0
        return sum(1 for p in self.failed_dir.iterdir() if _NAME.match(p.name))

    def __len__(self) -> int:
        if not self.root.is_dir():
            return 0
        return sum(1 for p in self.root.iterdir() if _NAME.match(p.name))

    def remove(self, item: Pending) -> None:
        (self.root / item.filename).unlink(missing_ok=True)

    def reject(self, item: Pending, error: dict[str, Any]) -> Pending:
        """Park a call the server refused (or refused again) until the operator resends, fixes or discards it."""
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        parked = Pending(**{**asdict(item), "error": error})
        _write_atomic(self.failed_dir / item.filename, asdict(parked))
        self.remove(item)
        return parked

    def discard(self, item: Pending) -> None:
        """Drop a refused call for good (the operator confirmed)."""
        (self.failed_dir / item.filename).unlink(missing_ok=True)

    def requeue(self, item: Pending) -> Pending:
        """Put a refused call back in the queue unchanged (same key and body): it is retried in order."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            back = Pending(**{**asdict(item), "error": None})
            _write_atomic(self.root / item.filename, asdict(back))
            self.discard(item)
            return back


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_dir(root: Path) -> list[Pending]:
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.iterdir()):
        if not _NAME.match(path.name):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            out.append(Pending(**{k: v for k, v in data.items() if k in _FIELDS}))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("skipping unreadable queued call %s: %s", path.name, exc)
    return out
