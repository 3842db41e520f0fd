"""Sign the chain heads that moved: into the anchor file first (the copy that counts), then the database.

Runs in the server process that holds the server duties (every minute), and on demand
(`factoryos audit anchors sign`, before a backup). It needs the superuser connection: heads
of every company are read across row-level security, which the app role never can.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from factoryos.audit.anchors import ANCHOR_FILE, Anchor, AnchorLog, Head, SigningKey, sign

log = logging.getLogger(__name__)


def read_heads(conn: Connection) -> list[Head]:
    rows = conn.execute(text("select tenant_id, seq, row_hash from audit_chain_heads order by tenant_id"))
    return [Head(r.tenant_id, int(r.seq), r.row_hash) for r in rows]


def record(conn: Connection, anchors: list[Anchor]) -> None:
    if anchors:
        conn.execute(
            text("insert into audit_anchors (tenant_id, seq, row_hash, signed_at, key_id, signature) "
                 "values (:tenant_id, :seq, :row_hash, cast(:signed_at as timestamptz), :key_id, :signature)"),
            [{"tenant_id": a.tenant_id, "seq": a.seq, "row_hash": a.row_hash, "signed_at": a.signed_at,
              "key_id": a.key_id, "signature": a.signature} for a in anchors],
        )


class Anchorer:
    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self._engine = engine
        self.key = SigningKey.load_or_create(data_dir)
        self.log = AnchorLog(data_dir / ANCHOR_FILE)
        self._lock = threading.Lock()
        self._last: dict[str, tuple[int, str]] | None = None  # read from the file once, then kept

    def anchor_now(self) -> int:
        """Sign every head that moved since its last anchor; returns how many were signed."""
        with self._lock:
            if self._last is None:
                self._last = self.log.last_signed()
            with self._engine.begin() as conn:
                heads = read_heads(conn)
                moved = [h for h in heads if self._last.get(str(h.tenant_id)) != (h.seq, h.row_hash)]
                anchors = [sign(self.key, h) for h in moved]
                self.log.append(self.key, anchors)  # before the commit: the file is what verify trusts
                record(conn, anchors)
            for a in anchors:
                self._last[a.tenant_id] = (a.seq, a.row_hash)
            if anchors:
                log.debug("signed %d audit chain heads", len(anchors))
            return len(anchors)

    def sign_heads(self, heads: list[Head]) -> list[Anchor]:
        """Sign these heads (a backup's snapshot) into the anchor file, whether they moved or not."""
        with self._lock:
            anchors = [sign(self.key, h) for h in heads]
            self.log.append(self.key, anchors)
            if self._last is not None:
                for a in anchors:
                    if a.seq >= self._last.get(a.tenant_id, (0, ""))[0]:
                        self._last[a.tenant_id] = (a.seq, a.row_hash)
            return anchors

    def forget(self) -> None:
        """After a restore: the anchor file was set aside, re-read what is signed on the next round."""
        with self._lock:
            self._last = None
