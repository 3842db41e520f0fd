"""Signed anchors: tamper evidence for the audit chain that does not trust the database.

The hash chain alone proves nothing against someone who can rewrite the whole table: a
database superuser can change a row and recompute every later hash and the head. So the
server host keeps an Ed25519 key *outside* the database (`<data dir>/audit-signing.key`)
and, every minute and before every backup, signs each company's chain head that moved —
(company, seq, row hash, time) — writing the signature to an append-only file in the
data directory (`audit-anchors.jsonl`) and to the database. `audit verify` then checks
each signed anchor against the chain: a recomputed chain no longer ends in the hashes
that were signed, and the first row after the last anchor that still matches is named.

What it does not cover: someone who holds both the database and this key file (root on
the server host) can re-sign. Export the anchors (`factoryos audit anchors export`) to
another machine, or print them, and verify against that copy with `--anchors FILE`.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "audit-signing.key"
ANCHOR_FILE = "audit-anchors.jsonl"


class AnchorError(Exception):
    """An anchor file or key that cannot be used (unreadable, malformed, forged)."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint an admin can compare by eye: the first 16 hex of SHA-256(raw key)."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(_raw_public(key)).decode()


def public_key_from_text(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError as exc:
        raise AnchorError(f"not an Ed25519 public key: {exc}") from None


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def id(self) -> str:
        return key_id(self.public)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SigningKey:
        """The installation's key; made once (0600, O_EXCL so racing processes agree)."""
        path = data_dir / KEY_FILE
        try:
            return cls.load(path)
        except FileNotFoundError:
            pass
        data_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls.load(path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise AnchorError(f"{path} is not an Ed25519 key")
        return cls(key)


@dataclass(frozen=True)
class Head:
    tenant_id: UUID
    seq: int
    row_hash: str


@dataclass(frozen=True)
class Anchor:
    tenant_id: str
    seq: int
    row_hash: str
    signed_at: str  # ISO 8601, UTC
    key_id: str
    signature: str  # base64 Ed25519 over `message()`

    def message(self) -> bytes:
        body = {"tenant_id": self.tenant_id, "seq": self.seq, "row_hash": self.row_hash,
                "signed_at": self.signed_at, "key_id": self.key_id}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def valid_under(self, key: Ed25519PublicKey) -> bool:
        if self.key_id != key_id(key):
            return False
        try:
            key.verify(base64.b64decode(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


def sign(key: SigningKey, head: Head, at: datetime | None = None) -> Anchor:
    unsigned = Anchor(str(head.tenant_id), head.seq, head.row_hash,
                      (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"), key.id, "")
    signature = base64.b64encode(key.private.sign(unsigned.message())).decode()
    return Anchor(**{**asdict(unsigned), "signature": signature})


class AnchorLog:
    """The append-only anchor file: one JSON object a line, the first line naming the public key.

    Appends take an exclusive lock and fsync, so several server processes and the backup can
    write to it; nothing ever rewrites a line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, key: SigningKey, anchors: Iterable[Anchor]) -> int:
        lines = [a.to_json() + "\n" for a in anchors]
        if not lines:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            if fh.tell() == 0:
                fh.write(json.dumps({"public_key": public_key_text(key.public), "key_id": key.id}) + "\n")
            fh.writelines(lines)
            fh.flush()
            os.fsync(fh.fileno())
        return len(lines)

    def read(self) -> tuple[Ed25519PublicKey | None, list[Anchor]]:
        """(the public key the file names, its anchors); a missing file has neither."""
        if not self.path.exists():
            return None, []
        public: Ed25519PublicKey | None = None
        anchors: list[Anchor] = []
        for number, line in enumerate(self._lines(), start=1):
            try:
                body = json.loads(line)
                if "public_key" in body:
                    if public is not None and key_id(public_key_from_text(body["public_key"])) != key_id(public):
                        raise AnchorError("names two different keys")
                    public = public_key_from_text(body["public_key"])
                else:
                    anchors.append(Anchor(**body))
            except (ValueError, TypeError) as exc:
                raise AnchorError(f"{self.path}, line {number}: not an anchor ({exc})") from None
        return public, anchors

    def last_signed(self) -> dict[str, tuple[int, str]]:
        """Each company's newest anchored head (seq, hash), to sign only heads that moved."""
        _, anchors = self.read()
        latest: dict[str, tuple[int, str]] = {}
        for a in anchors:
            if a.tenant_id not in latest or a.seq >= latest[a.tenant_id][0]:
                latest[a.tenant_id] = (a.seq, a.row_hash)
        return latest

    def _lines(self) -> Iterator[str]:
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield line


def set_aside_after_restore(data_dir: Path, at: datetime | None = None) -> Path | None:
    """A restore takes the chains back to an older state, legitimately: the anchors signed since
    describe a history that is no longer the database's. Keep them beside, under a name that says
    so, and start a new anchor file (the restore itself is a row of every chain)."""
    path = data_dir / ANCHOR_FILE
    if not path.exists():
        return None
    stamp = (at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    kept = data_dir / f"audit-anchors.before-restore-{stamp}.jsonl"
    path.rename(kept)
    return kept
