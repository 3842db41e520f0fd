"""`factoryos tls renew|import`: a new certificate without reinstalling; clients that trust the
installation's CA keep trusting it; an imported one is then verified by the system's store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import docker
import pytest
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from cli import install
from installer import tls
from installer.checks import Requirements
from installer.deploy import AdminAccount, Installer, InstallOptions

runner = CliRunner()
LAX = Requirements(min_cpus=1, min_ram_bytes=1, min_disk_bytes=1, min_kernel=(2, 6))


@pytest.fixture
def directory(tmp_path: Path, docker_api) -> Path:
    options = InstallOptions(directory=tmp_path / "factoryos", bind="127.0.0.1", https_port=18443, requirements=LAX,
                             admin=AdminAccount(email="o@acme.example", company="Acme", city="Porto"))  # fmt: skip
    installer = Installer(options, client_factory=lambda: docker.DockerClient(base_url=docker_api.url, timeout=5))
    installer.configure(lambda message, fraction=None: None)
    installer.layout.write_state({"version": "1.2.3", "bind_ip": "127.0.0.1", "https_port": 18443})
    return installer.layout.root


def _app() -> typer.Typer:
    app = typer.Typer()
    install.register(app)
    return app


def _leaf(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


def test_renew_keeps_the_ca_and_says_when_nginx_was_not_reloaded(directory: Path) -> None:
    paths = tls.TlsPaths(directory / "tls")
    before, ca = _leaf(paths.server_cert), paths.ca_cert.read_bytes()
    result = runner.invoke(_app(), ["tls", "renew", "--dir", str(directory), "--no-reload"])
    assert result.exit_code == 0, result.output
    after = _leaf(paths.server_cert)
    assert after.serial_number != before.serial_number and paths.ca_cert.read_bytes() == ca
    assert "127.0.0.1" in tls.subject_names(after) and tls.trust_anchor(paths) == paths.ca_cert
    # Without a running stack, the reload fails: said in one line, the files stay renewed.
    reload = runner.invoke(_app(), ["tls", "renew", "--dir", str(directory)])
    assert reload.exit_code == 1 and "nginx was not reloaded" in reload.output and "Traceback" not in reload.output


def test_import_uses_your_certificate(directory: Path, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mes.acme.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("mes.acme.example")]), critical=False)
            .sign(key, hashes.SHA256()))  # fmt: skip
    cert_file, key_file = tmp_path / "site.crt", tmp_path / "site.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    result = runner.invoke(_app(), ["tls", "import", "--cert", str(cert_file), "--key", str(key_file),
                                    "--dir", str(directory), "--no-reload"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "does not name 127.0.0.1" in result.output
    paths = tls.TlsPaths(directory / "tls")
    assert _leaf(paths.server_cert).serial_number == cert.serial_number
    assert tls.trust_anchor(paths) is None  # status and health checks use the system's trust store now


def test_without_installation(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["tls", "renew", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "no FactoryOS installation" in result.output
