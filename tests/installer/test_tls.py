"""Self-signed CA and server certificate, and user certificates, read back from disk."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from installer import tls
from installer.errors import InstallError


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_server_certificate_names_ip_and_host_and_chains_to_the_ca(tmp_path: Path) -> None:
    paths = tls.TlsPaths(tmp_path / "tls")
    assert tls.ensure_self_signed(paths, ["192.168.10.5", "127.0.0.1"], ["plant-srv", "localhost"])
    cert = _load(paths.server_cert)
    assert set(tls.subject_names(cert)) == {"plant-srv", "localhost", "192.168.10.5", "127.0.0.1"}
    ca = _load(paths.ca_cert)
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert stat.S_IMODE(paths.server_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.ca_key.stat().st_mode) == 0o600
    # The files work as a TLS server configuration, trusted through the CA only.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(paths.server_cert, paths.server_key)


def test_rerun_keeps_a_fitting_certificate_and_reissues_for_new_names(tmp_path: Path) -> None:
    paths = tls.TlsPaths(tmp_path)
    tls.ensure_self_signed(paths, ["10.1.1.1"], ["srv"])
    first = paths.server_cert.read_bytes()
    ca_first = paths.ca_cert.read_bytes()
    assert not tls.ensure_self_signed(paths, ["10.1.1.1"], ["srv"])
    assert paths.server_cert.read_bytes() == first
    assert tls.ensure_self_signed(paths, ["10.1.1.2"], ["srv"])
    assert "10.1.1.2" in tls.subject_names(_load(paths.server_cert))
    assert paths.ca_cert.read_bytes() == ca_first  # clients keep trusting the same CA


def _user_cert(tmp_path: Path, *, names: list[str], days: int) -> tuple[Path, Path, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    san = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"user-{days}.crt", tmp_path / f"user-{days}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file, key


def test_user_certificate_is_validated_and_copied(tmp_path: Path) -> None:
    cert_file, key_file, _ = _user_cert(tmp_path, names=["mes.plant.example", "10.0.0.9"], days=90)
    paths = tls.TlsPaths(tmp_path / "tls")
    uncovered = tls.install_user_certificate(paths, cert_file, key_file, ["10.0.0.9", "10.0.0.10"])
    assert uncovered == ["10.0.0.10"]
    assert paths.server_cert.read_bytes() == cert_file.read_bytes()
    assert stat.S_IMODE(paths.server_key.stat().st_mode) == 0o600


def test_user_certificate_errors(tmp_path: Path) -> None:
    paths = tls.TlsPaths(tmp_path / "tls")
    expired_cert, expired_key, _ = _user_cert(tmp_path, names=["a"], days=-1)
    with pytest.raises(InstallError, match="expired on") as caught:
        tls.install_user_certificate(paths, expired_cert, expired_key, [])
    assert caught.value.code == "tls_cert_expired"
    good_cert, _, _ = _user_cert(tmp_path, names=["a"], days=30)
    _, other_key, _ = _user_cert(tmp_path, names=["b"], days=31)
    with pytest.raises(InstallError, match="does not belong") as caught:
        tls.install_user_certificate(paths, good_cert, other_key, [])
    assert caught.value.code == "tls_key_mismatch"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(InstallError, match="not a readable PEM certificate"):
        tls.install_user_certificate(paths, garbage, other_key, [])
    assert not paths.server_cert.exists()
