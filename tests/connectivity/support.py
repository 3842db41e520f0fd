"""Shared helpers for the connectivity tests: a real in-memory sink, ports, certificates."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from factoryos.connectivity.events import CountDelta, CounterAnomaly, CounterBaseline, Health, StateChange

Event = CountDelta | StateChange | Health | CounterBaseline | CounterAnomaly


class MemorySink:
    """Stores events like the database will: upsert by key, so replays do not double count.

    `failing=True` makes it behave like a database that is down. `received` keeps every
    event as delivered (duplicates included) so tests can check delivery itself.
    """

    def __init__(self) -> None:
        self.received: list[Event] = []
        self.stored: dict[str, Event] = {}
        self.health: dict[str, Health] = {}
        self.baselines: dict[str, CounterBaseline] = {}
        self.failing = False
        self.fail_after_store = 0  # simulate "committed, but the acknowledgement was lost"
        self.failures = 0

    async def write(self, events: Sequence[Event]) -> None:
        if self.failing:
            self.failures += 1
            raise ConnectionError("database is down")
        for event in events:
            self.received.append(event)
            if isinstance(event, Health):
                self.health[event.machine_id] = event
            elif isinstance(event, CounterBaseline):
                self.baselines[event.machine_id] = event
            else:
                self.stored.setdefault(event.key, event)
        if self.fail_after_store:
            self.fail_after_store -= 1
            raise ConnectionError("connection dropped before commit acknowledged")

    def counts(self, machine_id: str) -> tuple[int, int]:
        deltas = [e for e in self.stored.values() if isinstance(e, CountDelta) and e.machine_id == machine_id]
        return sum(d.good for d in deltas), sum(d.reject for d in deltas)

    def anomalies(self, machine_id: str) -> list[CounterAnomaly]:
        return [e for e in self.stored.values() if isinstance(e, CounterAnomaly) and e.machine_id == machine_id]

    def states(self, machine_id: str) -> list[StateChange]:
        changes = [e for e in self.stored.values() if isinstance(e, StateChange) and e.machine_id == machine_id]
        return sorted(changes, key=lambda c: c.at)


def hand_set(configs: Sequence[Any]) -> list[Any]:
    """Configs for tests that set the PLC's counters by hand: such jumps (hundreds of parts
    between two polls) are more than any machine makes, so these machines get no ideal cycle
    time, hence no plausibility bound."""
    return [c.model_copy(update={"ideal_cycle_time": None}) for c in configs]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def eventually(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Wait until `check()` holds; fail with `what` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def make_certificate(directory: Path, name: str, uri: str, *, server: bool) -> tuple[Path, Path]:
    """A self-signed OPC-UA application certificate (DER) and key (PEM), as OPC 10000-6 wants them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.der", directory / f"{name}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
