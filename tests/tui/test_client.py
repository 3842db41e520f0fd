"""The typed client against real servers: TLS trust, problem+json, token refresh."""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from factoryos.client import (
    ClientError,
    FactoryClient,
    ServerUnreachable,
    SessionEnded,
    Trust,
    UntrustedCertificate,
    format_fingerprint,
    normalize_server_url,
)
from server.app import create_app
from tests.conftest import duty_claim, free_port
from tests.tui.pilot import until
from tui.screens.trust import TrustCertificate


@dataclass(frozen=True)
class TlsServer:
    url: str
    cert_file: Path
    fingerprint: str


def self_signed(directory: Path) -> tuple[Path, Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "factoryos-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file, cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def tls_server(settings, db_urls, authenticator, tmp_path_factory) -> Iterator[TlsServer]:
    cert_file, key_file, der = self_signed(tmp_path_factory.mktemp("tls"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db_urls.app, authenticator=authenticator, duties=duty_claim(db_urls.app)),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "TLS test server did not start"
        time.sleep(0.02)
    yield TlsServer(f"https://127.0.0.1:{port}", cert_file, format_fingerprint(der))
    server.should_exit = True
    thread.join(timeout=10)


async def test_untrusted_certificate_reports_its_fingerprint(tls_server):
    async with FactoryClient(tls_server.url) as api:
        with pytest.raises(UntrustedCertificate) as caught:
            await api.health()
    assert caught.value.code == "tls_untrusted"
    assert caught.value.fingerprint == tls_server.fingerprint
    assert tls_server.fingerprint in caught.value.detail


async def test_pinned_fingerprint_and_ca_file_are_trusted(tls_server):
    for trust in (Trust(pinned_sha256=tls_server.fingerprint.replace(":", "").lower()),
                  Trust(ca_file=tls_server.cert_file)):
        async with FactoryClient(tls_server.url, trust=trust) as api:
            assert (await api.health())["status"] in ("ok", "degraded")


async def test_wrong_pin_is_refused_before_any_request(tls_server):
    wrong = ":".join(["AB"] * 32)
    async with FactoryClient(tls_server.url, trust=Trust(pinned_sha256=wrong)) as api:
        with pytest.raises(UntrustedCertificate):
            await api.login("someone@example.com", "a password")


async def test_login_screen_offers_to_trust_the_certificate(app_factory, world, tls_server, tmp_path):
    app = app_factory(server=tls_server.url)
    async with app.run_test(size=(80, 24)) as pilot:
        from tests.tui.pilot import sign_in

        await sign_in(pilot, world.operator.email, world.password)
        await until(pilot, lambda: isinstance(app.screen, TrustCertificate), what="trust dialog")
        assert str(app.screen.query_one("#fingerprint").render()) == tls_server.fingerprint
        await pilot.press("t")
        from tui.screens.home import HomeScreen

        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home screen")
    assert tls_server.fingerprint in (tmp_path / "client.json").read_text()


async def test_problem_json_becomes_client_error(live_server, world):
    async with FactoryClient(live_server.url) as api:
        await api.login(world.operator.email, world.password)
        with pytest.raises(ClientError) as caught:
            await api.create_machine({"site_id": world.site["id"], "name": "X", "code": "X-1",
                                      "ideal_cycle_seconds": 1})
    assert (caught.value.code, caught.value.status) == ("permission_denied", 403)


async def test_expired_access_token_is_refreshed_and_rotated(live_server, world):
    async with FactoryClient(live_server.url) as api:
        await api.login(world.operator.email, world.password)
        first_refresh = api.t.tokens.refresh
        api.t.tokens.expires_at = time.monotonic()  # as if it had expired: refreshed before the call
        me = await api.me()
        assert str(me.account.id) == world.operator.user_id
        assert api.t.tokens.refresh != first_refresh
        await api.logout()
        with pytest.raises(SessionEnded):
            await api.me()


async def test_unreachable_server_and_bad_address():
    async with FactoryClient(f"http://127.0.0.1:{free_port()}") as api:
        with pytest.raises(ServerUnreachable) as caught:
            await api.health()
    assert caught.value.transient and not caught.value.maybe_received
    assert normalize_server_url("factory.lan:8443/api/v1/") == "https://factory.lan:8443"
    with pytest.raises(ClientError):
        normalize_server_url("ftp://factory.lan")
