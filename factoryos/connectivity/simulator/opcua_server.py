"""An OPC-UA server (asyncua) exposing many simulated machines.

Address space: Objects/Machines/<machine id>/{GoodCount, RejectCount, StateCode,
AlarmCode}, string node ids `ns=<idx>;s=<machine id>.<Variable>`. Nodes are created in
one bulk AddNodes call (creating them one by one costs ~1 ms each). An unreachable
machine's values carry the status BadNoCommunication, as a gateway would report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from factoryos.connectivity.machine_config import (
    OpcUaEndpoint,
    OpcUaMachine,
    OpcUaSecurity,
    OpcUaSignals,
    SecurityMode,
    SecurityPolicy,
)
from factoryos.connectivity.simulator.machine import SIM_STATUS_MAP, SimMachine

log = logging.getLogger(__name__)

NAMESPACE = "urn:factoryos:simulator"
_VARIABLES = (
    ("GoodCount", ua.VariantType.UInt32),
    ("RejectCount", ua.VariantType.UInt32),
    ("StateCode", ua.VariantType.UInt16),
    ("AlarmCode", ua.VariantType.UInt16),
)
_DATATYPES = {ua.VariantType.UInt32: ua.ObjectIds.UInt32, ua.VariantType.UInt16: ua.ObjectIds.UInt16}


@dataclass(frozen=True)
class OpcUaServerSecurity:
    """Basic256Sha256, Aes128_Sha256_RsaOaep and Aes256_Sha256_RsaPss (Sign and SignAndEncrypt);
    clients must present a trusted certificate."""

    certificate: Path
    private_key: Path
    trusted_client_certificates: Sequence[Path] = field(default_factory=tuple)


def _load_cert(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if data.lstrip().startswith(b"-----"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _application_uri(cert: x509.Certificate) -> str | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def _object_item(parent: ua.NodeId, node_id: ua.NodeId, name: str) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = node_id
    item.BrowseName = ua.QualifiedName(name, node_id.NamespaceIndex)
    item.NodeClass = ua.NodeClass.Object
    item.ParentNodeId = parent
    item.ReferenceTypeId = ua.NodeId(ua.ObjectIds.Organizes)
    item.TypeDefinition = ua.NodeId(ua.ObjectIds.FolderType)
    attrs = ua.ObjectAttributes()
    attrs.DisplayName = ua.LocalizedText(name)
    attrs.EventNotifier = 0
    item.NodeAttributes = attrs
    return item


def _variable_item(parent: ua.NodeId, node_id: ua.NodeId, name: str, variant: ua.VariantType) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = node_id
    item.BrowseName = ua.QualifiedName(name, node_id.NamespaceIndex)
    item.NodeClass = ua.NodeClass.Variable
    item.ParentNodeId = parent
    item.ReferenceTypeId = ua.NodeId(ua.ObjectIds.HasComponent)
    item.TypeDefinition = ua.NodeId(ua.ObjectIds.BaseDataVariableType)
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(name)
    attrs.DataType = ua.NodeId(_DATATYPES[variant])
    attrs.Value = ua.Variant(0, variant)
    attrs.ValueRank = ua.ValueRank.Scalar
    attrs.AccessLevel = ua.AccessLevel.CurrentRead.mask
    attrs.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
    item.NodeAttributes = attrs
    return item


class SimOpcUaServer:
    def __init__(
        self,
        machines: Sequence[SimMachine],
        host: str,
        port: int,
        *,
        security: OpcUaServerSecurity | None = None,
    ) -> None:
        self.machines = list(machines)
        self.host, self.port = host, port
        self.url = f"opc.tcp://{host}:{port}/factoryos/sim"
        self.security = security
        self._server: Server | None = None
        self._ns = 2
        self._published: dict[str, tuple[tuple[int, int, int, int], bool]] = {}

    @property
    def running(self) -> bool:
        return self._server is not None

    def node_id(self, machine_id: str, variable: str) -> str:
        return f"ns={self._ns};s={machine_id}.{variable}"

    async def start(self) -> None:
        if self._server is not None:
            return
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("FactoryOS machine simulator")
        if self.security is not None:
            await self._secure(server)
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        self._ns = await server.register_namespace(NAMESPACE)
        await self._build_address_space(server)
        # Values are in place before clients can connect: no zeroed counters on restart.
        self._server = server
        self._published.clear()
        for machine in self.machines:
            await self.publish(machine)
        try:
            await server.start()
        except BaseException:
            self._server = None
            raise
        log.info("OPC-UA simulator on %s with %d machines", self.url, len(self.machines))

    async def _secure(self, server: Server) -> None:
        assert self.security is not None
        own = _load_cert(self.security.certificate)
        if uri := _application_uri(own):
            await server.set_application_uri(uri)
        await server.load_certificate(str(self.security.certificate))
        await server.load_private_key(str(self.security.private_key))
        policy = ua.SecurityPolicyType
        server.set_security_policy([
            policy.Basic256Sha256_SignAndEncrypt, policy.Basic256Sha256_Sign,
            policy.Aes128Sha256RsaOaep_SignAndEncrypt, policy.Aes128Sha256RsaOaep_Sign,
            policy.Aes256Sha256RsaPss_SignAndEncrypt, policy.Aes256Sha256RsaPss_Sign,
        ])
        trusted = {_load_cert(p).fingerprint(hashes.SHA256()) for p in self.security.trusted_client_certificates}

        async def validate(cert: x509.Certificate, _app: ua.ApplicationDescription) -> None:
            if cert.fingerprint(hashes.SHA256()) not in trusted:
                raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

        server.set_certificate_validator(validate)

    async def _build_address_space(self, server: Server) -> None:
        ns = self._ns
        root = ua.NodeId("Machines", ns)
        items = [_object_item(ua.NodeId(ua.ObjectIds.ObjectsFolder), root, "Machines")]
        for machine in self.machines:
            folder = ua.NodeId(machine.machine_id, ns)
            items.append(_object_item(root, folder, machine.machine_id))
            for name, variant in _VARIABLES:
                items.append(_variable_item(folder, ua.NodeId(f"{machine.machine_id}.{name}", ns), name, variant))
        results = await server.iserver.isession.add_nodes(items)
        for result in results:
            result.StatusCode.check()

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    async def publish(self, machine: SimMachine, at: datetime | None = None) -> None:
        """Write the machine's changed values, stamped `at` (default now) as their SourceTimestamp."""
        server = self._server
        if server is None:
            return
        values = machine.values()
        previous = self._published.get(machine.machine_id)
        if previous == (values, machine.reachable):
            return
        status = ua.StatusCode(ua.StatusCodes.Good if machine.reachable else ua.StatusCodes.BadNoCommunication)
        # asyncua types its timestamps as its own datetime subclass; it stores plain datetimes itself.
        now = cast(ua.DateTime, datetime.now(UTC))
        stamp = cast(ua.DateTime, at) if at is not None else now
        for index, ((name, variant), value) in enumerate(zip(_VARIABLES, values, strict=True)):
            if previous is not None and previous[0][index] == value and previous[1] == machine.reachable:
                continue
            node = ua.NodeId(f"{machine.machine_id}.{name}", self._ns)
            await server.write_attribute_value(node, ua.DataValue(
                ua.Variant(value, variant), StatusCode=status, SourceTimestamp=stamp, ServerTimestamp=now))
        self._published[machine.machine_id] = (values, machine.reachable)

    def machine_config(
        self,
        machine: SimMachine,
        *,
        poll_interval: float = 1.0,
        client_security: OpcUaSecurity | None = None,
    ) -> OpcUaMachine:
        mid = machine.machine_id
        return OpcUaMachine(
            protocol="opcua",
            machine_id=mid,
            name=f"Simulated {mid}",
            poll_interval=poll_interval,
            ideal_cycle_time=machine.ideal_cycle_time,
            status_map=SIM_STATUS_MAP,
            endpoint=OpcUaEndpoint(url=self.url, security=client_security or OpcUaSecurity()),
            signals=OpcUaSignals(
                good=self.node_id(mid, "GoodCount"),
                reject=self.node_id(mid, "RejectCount"),
                state=self.node_id(mid, "StateCode"),
                alarm=self.node_id(mid, "AlarmCode"),
            ),
        )


def client_security_for(
    certificate: Path, private_key: Path, server_certificate: Path, mode: SecurityMode = SecurityMode.SIGN_AND_ENCRYPT,
    policy: SecurityPolicy = SecurityPolicy.BASIC256SHA256,
) -> OpcUaSecurity:
    """Client settings that match a secured simulator (convenience for tests and demos)."""
    return OpcUaSecurity(
        policy=policy,
        mode=mode,
        client_certificate=certificate,
        client_private_key=private_key,
        server_certificate=server_certificate,
    )
