"""TLS for nginx: a local CA and a server certificate naming the LAN IP and host names,
or a certificate the user brings (`--cert/--key`), checked before it is used."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from installer.errors import InstallError

CA_DAYS = 3650
SERVER_DAYS = 825  # the longest validity browsers accept for a server certificate
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsPaths:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"


def subject_names(cert: x509.Certificate) -> list[str]:
    """DNS names and IP addresses of the certificate's SAN extension, as strings."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]


def ensure_self_signed(paths: TlsPaths, ips: Sequence[str], dns_names: Sequence[str], *, force: bool = False) -> bool:
    """Create the CA once, and a server certificate unless the current one still fits (or `force`:
    `factoryos tls renew`). The CA stays, so clients that trust it keep trusting the new one.

    Returns True when a new server certificate was written.
    """
    now = dt.datetime.now(dt.UTC)
    wanted = {*dns_names, *ips}
    if paths.server_cert.exists() and paths.ca_cert.exists() and not force:
        current = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
        if wanted <= set(subject_names(current)) and current.not_valid_after_utc - now > RENEW_BEFORE:
            return False
    ca_cert, ca_key = _ensure_ca(paths, now)
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName(name) for name in dict.fromkeys(dns_names)]
    san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in dict.fromkeys(ips)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0] if dns_names else ips[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(paths.server_key, key)
    # nginx wants the chain in one file: leaf first, then the CA.
    _write_public(paths.server_cert, cert.public_bytes(serialization.Encoding.PEM) + paths.ca_cert.read_bytes())
    return True


def install_user_certificate(paths: TlsPaths, cert_file: Path, key_file: Path, expected: Sequence[str]) -> list[str]:
    """Validate a user's certificate and key, copy them in; returns names it does not cover."""
    try:
        chain = x509.load_pem_x509_certificates(cert_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise InstallError(
            f"--cert {cert_file}: not a readable PEM certificate ({exc})", code="tls_cert_invalid"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InstallError(
            f"--key {key_file}: not a readable unencrypted PEM private key ({exc})", code="tls_key_invalid"
        ) from None
    leaf = chain[0]
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise InstallError(f"--key {key_file} does not belong to the certificate {cert_file}", code="tls_key_mismatch")
    now = dt.datetime.now(dt.UTC)
    if leaf.not_valid_after_utc <= now:
        raise InstallError(
            f"--cert {cert_file} expired on {leaf.not_valid_after_utc:%Y-%m-%d}; renew it first",
            code="tls_cert_expired",
        )
    if leaf.not_valid_before_utc > now:
        raise InstallError(
            f"--cert {cert_file} is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC; check the clock",
            code="tls_cert_not_yet_valid",
        )
    paths.directory.mkdir(parents=True, exist_ok=True)
    _write_public(paths.server_cert, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    _write_secret(paths.server_key, key_file.read_bytes())
    covered = set(subject_names(leaf))
    return [name for name in expected if name not in covered]


def trust_anchor(paths: TlsPaths) -> Path | None:
    """The CA file that verifies the server certificate in use: ours when we issued it, else None
    (an imported certificate is verified by the system's trust store)."""
    if not (paths.ca_cert.exists() and paths.server_cert.exists()):
        return None
    try:
        leaf = x509.load_pem_x509_certificates(paths.server_cert.read_bytes())[0]
        ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    except (OSError, ValueError):
        return None
    return paths.ca_cert if leaf.issuer == ca.subject else None


def _ensure_ca(paths: TlsPaths, now: dt.datetime) -> tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes]:
    if paths.ca_cert.exists() and paths.ca_key.exists():
        key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
        return x509.load_pem_x509_certificate(paths.ca_cert.read_bytes()), key  # type: ignore[return-value]
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "FactoryOS"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"FactoryOS local CA {now:%Y-%m-%d}"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    paths.directory.mkdir(parents=True, exist_ok=True)
    _write_key(paths.ca_key, key)
    _write_public(paths.ca_cert, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    _write_secret(
        path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def _write_secret(path: Path, data: bytes) -> None:
    _atomic_write(path, data, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    _atomic_write(path, data, 0o644)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
