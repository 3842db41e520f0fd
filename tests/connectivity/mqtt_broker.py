"""A real Mosquitto broker on loopback for the MQTT tests: username/password on a plain and a TLS
listener, the TLS one with a server certificate signed by a test CA made here."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.connectivity.support import free_port

USER, PASSWORD = "ingest", "s3cret-broker-pass"


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def make_ca_and_server(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key), PEM; the server is 127.0.0.1 and localhost.
    Also writes a client certificate and key signed by the CA (client.pem, client.key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test broker CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "broker.pem", directory / "broker.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    # A client certificate from the same CA, for the listener that requires one.
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "factoryos-ingest")]))
              .issuer_name(ca_name).public_key(client_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .sign(ca_key, hashes.SHA256()))
    (directory / "client.pem").write_bytes(client.public_bytes(serialization.Encoding.PEM))
    _write_key(directory / "client.key", client_key)
    return ca_path, cert_path, key_path


@dataclass(frozen=True)
class Broker:
    port: int
    tls_port: int
    mtls_port: int  # TLS that also requires a client certificate
    ca: Path
    client_cert: Path
    client_key: Path

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.tls_port}"

    @property
    def mtls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.mtls_port}"


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port}: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def running_broker(directory: Path, ports: tuple[int, int, int] | None = None) -> Iterator[Broker]:
    """Mosquitto with its config, password file and certificates in `directory` (skips without it).
    `ports` (plain, TLS, TLS with client certificate): to start a broker again where it was."""
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    passwd = shutil.which("mosquitto_passwd")
    if binary is None or passwd is None:
        pytest.skip("Mosquitto is not installed (Debian package `mosquitto`; .ci/run installs it)")
    ca, cert, key = directory / "ca.pem", directory / "broker.pem", directory / "broker.key"
    if not ca.exists():  # started again in the same directory: same certificates
        ca, cert, key = make_ca_and_server(directory)
    passwords = directory / "passwords"
    if not passwords.exists():
        subprocess.run([passwd, "-c", "-b", str(passwords), USER, PASSWORD], check=True, capture_output=True)
        passwords.chmod(0o600)
    port, tls_port, mtls_port = ports or (free_port(), free_port(), free_port())
    config = directory / "mosquitto.conf"
    config.write_text(
        # `user root`: as root, mosquitto would otherwise switch to its own user, which cannot read
        # the test's private directory (as anyone else the line is ignored).
        "user root\nper_listener_settings false\nallow_anonymous false\n"
        f"password_file {passwords}\npersistence false\nlog_dest stderr\n"
        f"listener {port} 127.0.0.1\n"
        f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
        f"listener {mtls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\nrequire_certificate true\n"
    )
    log = directory / "mosquitto.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "-c", str(config)], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(process, port, log)
        _wait_listening(process, tls_port, log)
        _wait_listening(process, mtls_port, log)
        yield Broker(port, tls_port, mtls_port, ca, directory / "client.pem", directory / "client.key")
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
