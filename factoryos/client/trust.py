"""TLS trust for a FactoryOS server: a CA file, a pinned certificate, or the system CAs.

On-prem servers often run with a certificate from the installer's own CA or a
self-signed one. The user either points the client at that CA file, or compares the
certificate's SHA-256 fingerprint with the one the administrator gave them and pins it.
A pin is checked right after the handshake, before any request (and so any password)
is sent over the connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi


@dataclass(frozen=True)
class Trust:
    """How to trust a server's certificate. Both unset: the system and certifi CAs."""

    ca_file: Path | None = None
    pinned_sha256: str | None = None


def format_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as colon-separated upper-case hex (what admins compare)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def normalize_fingerprint(text: str) -> str:
    """Accept `AB:CD:…`, `abcd…` or with spaces; the canonical colon form, or ValueError."""
    hexdigits = "".join(ch for ch in text if ch not in ": \t").upper()
    if len(hexdigits) != 64 or any(ch not in "0123456789ABCDEF" for ch in hexdigits):
        raise ValueError("a SHA-256 fingerprint has 64 hex digits (32 pairs)")
    return ":".join(hexdigits[i : i + 2] for i in range(0, 64, 2))


class PinMismatch(ssl.SSLCertVerificationError):
    """The certificate presented is not the pinned one."""


class _PinnedContext(ssl.SSLContext):
    pinned: str = ""


class _PinnedObject(ssl.SSLObject):
    """The SSL object httpx's async transport drives: verify the pin once the handshake is done."""

    def do_handshake(self) -> None:
        super().do_handshake()
        der = self.getpeercert(binary_form=True)
        pinned = getattr(self.context, "pinned", "")
        if der is None or format_fingerprint(der) != pinned:
            raise PinMismatch("certificate does not match the pinned fingerprint")


def ssl_context(trust: Trust) -> ssl.SSLContext:
    if trust.pinned_sha256:
        ctx = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.pinned = normalize_fingerprint(trust.pinned_sha256)
        # The pin replaces CA and host name checks: it names the exact certificate.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.sslobject_class = _PinnedObject
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx
    if trust.ca_file is not None:
        return ssl.create_default_context(cafile=str(trust.ca_file))
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(cafile=certifi.where())
    return ctx


def _fetch_fingerprint(host: str, port: int, timeout: float) -> str:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only to read the certificate; nothing is sent
    with socket.create_connection((host, port), timeout=timeout) as sock:
        with ctx.wrap_socket(sock, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    if der is None:
        raise OSError("the server sent no certificate")
    return format_fingerprint(der)


async def fetch_fingerprint(host: str, port: int, timeout: float = 5.0) -> str | None:
    """The fingerprint of the certificate the server presents, or None when it cannot be read."""
    try:
        return await asyncio.to_thread(_fetch_fingerprint, host, port, timeout)
    except (OSError, ssl.SSLError):
        return None
