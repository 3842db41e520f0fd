"""OPC-UA Basic256Sha256, Aes128_Sha256_RsaOaep and Aes256_Sha256_RsaPss with certificates made here:
trusted clients read, untrusted ones get a clear error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from factoryos.connectivity.errors import CertificateInvalid, CertificateRejected
from factoryos.connectivity.machine_config import OpcUaMachine, SecurityMode, SecurityPolicy
from factoryos.connectivity.opcua_driver import OpcUaDriver
from factoryos.connectivity.poller import Poller, PollerSettings
from factoryos.connectivity.simulator import OpcUaServerSecurity, Simulator, client_security_for
from factoryos.connectivity.states import MachineState
from tests.connectivity.support import eventually, free_port, hand_set, make_certificate

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class SecureSetup:
    sim: Simulator
    server_cert: Path
    client: tuple[Path, Path]
    stranger: tuple[Path, Path]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def secure(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SecureSetup]:
    certs = tmp_path_factory.mktemp("pki")
    server_cert, server_key = make_certificate(certs, "simulator", "urn:factoryos:simulator", server=True)
    client = make_certificate(certs, "factoryos", "urn:factoryos:poller", server=False)
    stranger = make_certificate(certs, "stranger", "urn:factoryos:poller", server=False)
    security = OpcUaServerSecurity(server_cert, server_key, trusted_client_certificates=[client[0]])
    sim = Simulator(2, protocol="opcua", seed=9, opcua_port=free_port(), tick=None, opcua_security=security)
    await sim.start()
    yield SecureSetup(sim, server_cert, client, stranger)
    await sim.stop()


def configs(setup: SecureSetup, cert: tuple[Path, Path], mode: SecurityMode,
            policy: SecurityPolicy = SecurityPolicy.BASIC256SHA256) -> list[OpcUaMachine]:
    security = client_security_for(cert[0], cert[1], setup.server_cert, mode, policy)
    machines = hand_set(setup.sim.machine_configs(poll_interval=0.1, opcua_client_security=security))
    return [m for m in machines if isinstance(m, OpcUaMachine)]


@pytest.mark.parametrize(("policy", "mode"), [
    (SecurityPolicy.BASIC256SHA256, SecurityMode.SIGN_AND_ENCRYPT), (SecurityPolicy.BASIC256SHA256, SecurityMode.SIGN),
    (SecurityPolicy.AES128_SHA256_RSAOAEP, SecurityMode.SIGN_AND_ENCRYPT),
    (SecurityPolicy.AES256_SHA256_RSAPSS, SecurityMode.SIGN_AND_ENCRYPT),
    (SecurityPolicy.AES256_SHA256_RSAPSS, SecurityMode.SIGN),
])
async def test_trusted_client_reads_exact_counts(secure: SecureSetup, policy: SecurityPolicy,
                                                 mode: SecurityMode) -> None:
    events: list = []
    poller = Poller(configs(secure, secure.client, mode, policy), events.extend, settings=PollerSettings(coalesce_window=0.01))
    await poller.start()
    try:
        machine = secure.sim.machines[0]
        mid = machine.machine_id
        await eventually(lambda: poller.status(mid).good_raw == machine.good_counter, what="baseline")
        await secure.sim.set_counters(mid, good=machine.good + 31, reject=machine.reject + 2)
        await eventually(lambda: poller.status(mid).good_raw == machine.good_counter, what="new counters")
    finally:
        await poller.stop()
    good = sum(e.good for e in events if e.kind == "count" and e.machine_id == mid)
    reject = sum(e.reject for e in events if e.kind == "count" and e.machine_id == mid)
    assert (good, reject) == (31, 2)
    assert poller.status(mid).last_error is None


async def test_untrusted_certificate_is_a_clear_error(secure: SecureSetup) -> None:
    (machine, *_) = configs(secure, secure.stranger, SecurityMode.SIGN_AND_ENCRYPT)
    driver = OpcUaDriver(machine.endpoint)
    with pytest.raises(CertificateRejected) as info:
        await driver.connect()
    assert info.value.code == "opcua_certificate_rejected"
    assert "BadCertificateUntrusted" in str(info.value)
    assert "trusted certificates" in str(info.value)

    events: list = []
    poller = Poller([machine], events.extend, settings=PollerSettings(backoff_initial=0.05, backoff_cap=0.2))
    await poller.start()
    try:
        await eventually(lambda: poller.status(machine.machine_id).error_code is not None, what="error")
    finally:
        await poller.stop()
    status = poller.status(machine.machine_id)
    assert status.state is MachineState.NO_DATA
    assert status.error_code == "opcua_certificate_rejected"
    health = [e for e in events if e.kind == "health"]
    assert health and health[0].error_code == "opcua_certificate_rejected"


async def test_missing_key_file_is_a_configuration_error(secure: SecureSetup, tmp_path: Path) -> None:
    (machine, *_) = configs(secure, (secure.client[0], tmp_path / "missing.pem"), SecurityMode.SIGN)
    with pytest.raises(CertificateInvalid) as info:
        await OpcUaDriver(machine.endpoint).connect()
    assert info.value.code == "opcua_certificate_invalid" and "missing.pem" in str(info.value)


@pytest.mark.parametrize("policy", [SecurityPolicy.BASIC256SHA256, SecurityPolicy.AES128_SHA256_RSAOAEP,
                                    SecurityPolicy.AES256_SHA256_RSAPSS])
async def test_the_chosen_policy_is_the_one_negotiated(secure: SecureSetup, policy: SecurityPolicy) -> None:
    (machine, *_) = configs(secure, secure.client, SecurityMode.SIGN_AND_ENCRYPT, policy)
    driver = OpcUaDriver(machine.endpoint)
    await driver.connect()
    try:
        # The secure channel's policy URI ends with the policy's name, e.g. "…#Aes128_Sha256_RsaOaep".
        assert driver._client is not None
        assert driver._client.security_policy.URI.rsplit("#", 1)[1] == policy.value
    finally:
        await driver.close()
