"""OPC-UA driver: one session per endpoint, one batched Read for every node of every machine, or (in
subscription mode) the values the server pushed (`opcua_subscription`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.crypto import security_policies
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from cryptography import x509

from factoryos.connectivity.connection_models import BrowsedNode, NodeClassName
from factoryos.connectivity.driver import CounterSample, Reading, machine_label, quiet_library_logs
from factoryos.connectivity.errors import (
    AuthenticationFailed,
    CertificateInvalid,
    CertificateRejected,
    ConnectivityError,
    EndpointUnavailable,
    SignalReadFailed,
    os_reason,
)
from factoryos.connectivity.machine_config import (
    Acquisition,
    OpcUaEndpoint,
    OpcUaMachine,
    SecurityMode,
    SecurityPolicy,
)
from factoryos.connectivity.opcua_subscription import PushedValues

log = logging.getLogger(__name__)

_NODE_CLASSES: dict[ua.NodeClass, NodeClassName] = {
    ua.NodeClass.Object: "object", ua.NodeClass.Variable: "variable", ua.NodeClass.Method: "method"}


def _short(value: object) -> str:
    """A value as a person reads it in a picker: at most 40 characters."""
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


_POLICIES: dict[SecurityPolicy, type[security_policies.SecurityPolicy]] = {
    SecurityPolicy.BASIC256SHA256: security_policies.SecurityPolicyBasic256Sha256,
    SecurityPolicy.AES128_SHA256_RSAOAEP: security_policies.SecurityPolicyAes128Sha256RsaOaep,
    SecurityPolicy.AES256_SHA256_RSAPSS: security_policies.SecurityPolicyAes256Sha256RsaPss,
}

_SIGNALS = ("good", "reject", "state", "alarm")
_VT = ua.VariantType
_COUNTER_MODULUS: dict[ua.VariantType, int | None] = {
    _VT.Boolean: 2,
    _VT.Byte: 1 << 8,
    _VT.SByte: 1 << 8,
    _VT.UInt16: 1 << 16,
    _VT.Int16: 1 << 16,
    _VT.UInt32: 1 << 32,
    _VT.Int32: 1 << 32,
    _VT.UInt64: 1 << 64,
    _VT.Int64: 1 << 64,
    _VT.Float: None,
    _VT.Double: None,
}
_SIGNAL_WORDS = {"good": "good count", "reject": "reject count", "state": "status", "alarm": "alarm"}
# Plain words for the statuses a plant's admin meets most; the status name stays for searching.
_STATUS_WORDS = {
    "BadNodeIdUnknown": "no such node on the server",
    "BadNodeIdInvalid": "not a valid node id",
    "BadNoCommunication": "the server has no communication with the device",
    "BadNotReadable": "the server does not allow reading it",
    "BadUserAccessDenied": "this user may not read it",
    "BadWaitingForInitialData": "the server has no value yet",
}
_AUTH_CODES = {
    ua.StatusCodes.BadUserAccessDenied,
    ua.StatusCodes.BadIdentityTokenInvalid,
    ua.StatusCodes.BadIdentityTokenRejected,
}


def _status_name(exc: UaStatusCodeError) -> str:
    return ua.StatusCode(exc.code).name


def _status_words(name: str) -> str:
    words = _STATUS_WORDS.get(name)
    return f"{words} ({name})" if words else name


def _failure(exc: BaseException) -> str:
    """Why the link failed, in plain words: OS reason, timeout, or the library's own text."""
    if isinstance(exc, UaStatusCodeError):
        return _status_words(_status_name(exc))
    if isinstance(exc, OSError | TimeoutError):
        return os_reason(exc)
    return str(exc) or type(exc).__name__


def _application_uri(certificate: Path) -> str | None:
    """The URI in the certificate's SubjectAltName: servers check it against our ApplicationUri."""
    data = certificate.read_bytes()
    cert = (
        x509.load_pem_x509_certificate(data)
        if data.lstrip().startswith(b"-----")
        else x509.load_der_x509_certificate(data)
    )
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def _signal_nodes(machine: OpcUaMachine) -> list[tuple[str, float | None]]:
    """(node id, absolute deadband) of each signal the machine has; counters never take one."""
    signals = machine.signals
    out: list[tuple[str, float | None]] = [(signals.good, None), (signals.reject, None),
                                           (signals.state, signals.deadband_of("state"))]
    if signals.alarm is not None:
        out.append((signals.alarm, signals.deadband_of("alarm")))
    return out


def _counter(value: Any, variant: ua.VariantType, node: str) -> CounterSample:
    if variant not in _COUNTER_MODULUS:
        raise ValueError(f"{node}: {variant.name} is not a number")
    modulus = _COUNTER_MODULUS[variant]
    if modulus is None:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{node}: counter holds {value}")
        return CounterSample(int(value), None)
    return CounterSample(int(value) % modulus, modulus)


def _code(value: Any, variant: ua.VariantType, node: str) -> int:
    if variant not in _COUNTER_MODULUS:
        raise ValueError(f"{node}: {variant.name} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{node}: code holds {value}")
    return round(value)


class OpcUaDriver:
    def __init__(self, endpoint: OpcUaEndpoint, *, max_nodes_per_read: int = 10_000) -> None:
        quiet_library_logs()
        self.label = endpoint.url
        self._endpoint = endpoint
        self._max_nodes = max_nodes_per_read
        self._client: Client | None = None
        self._nodes: dict[str, Any] = {}
        self.pushed: PushedValues | None = None
        if endpoint.acquisition is Acquisition.SUBSCRIPTION:
            self.pushed = PushedValues(endpoint.url, endpoint.publishing_seconds, endpoint.timeout, _signal_nodes)

    async def connect(self) -> None:
        await self.close()
        ep = self._endpoint
        client = Client(ep.url, timeout=ep.timeout)
        await self._configure_security(client)
        if ep.username is not None and ep.password is not None:
            client.set_user(ep.username)
            client.set_password(ep.password.get_secret_value())
        try:
            await client.connect()
        except UaStatusCodeError as exc:
            await self._discard(client)
            name = _status_name(exc)
            if name.startswith("BadCertificate") or exc.code in (
                ua.StatusCodes.BadSecurityChecksFailed,
                ua.StatusCodes.BadSecurityPolicyRejected,
            ):
                raise CertificateRejected(
                    f"{self.label} rejected the client certificate ({name}): "
                    "add the FactoryOS client certificate to the server's trusted certificates"
                ) from None
            if exc.code in _AUTH_CODES:
                raise AuthenticationFailed(f"{self.label} refused user {ep.username!r} ({name})") from None
            raise EndpointUnavailable(f"{self.label}: cannot connect: {_status_words(name)}") from None
        except (TimeoutError, OSError, UaError) as exc:
            await self._discard(client)
            raise EndpointUnavailable(f"{self.label}: cannot connect: {_failure(exc)}") from None
        self._client = client
        self._nodes = {}
        if self.pushed is not None:
            self.pushed.attach(client)

    async def _configure_security(self, client: Client) -> None:
        security = self._endpoint.security
        if security.policy is SecurityPolicy.NONE:
            return
        assert security.client_certificate and security.client_private_key and security.server_certificate
        mode = (
            ua.MessageSecurityMode.SignAndEncrypt
            if security.mode is SecurityMode.SIGN_AND_ENCRYPT
            else ua.MessageSecurityMode.Sign
        )
        try:
            uri = _application_uri(security.client_certificate)
            if uri:
                client.application_uri = uri
            await client.set_security(
                _POLICIES[security.policy],
                certificate=str(security.client_certificate),
                private_key=str(security.client_private_key),
                private_key_password=(
                    security.private_key_password.get_secret_value() if security.private_key_password else None
                ),
                server_certificate=str(security.server_certificate),
                mode=mode,
            )
        except (OSError, ValueError, TypeError) as exc:
            raise CertificateInvalid(f"{self.label}: cannot load certificates or key: {exc}") from None

    @staticmethod
    async def _discard(client: Client) -> None:
        try:
            await client.disconnect()
        except Exception:  # the link is already broken; nothing left to release cleanly
            client.disconnect_socket()

    async def close(self) -> None:
        client, self._client = self._client, None
        if self.pushed is not None:
            self.pushed.detach()
        if client is not None:
            await self._discard(client)

    async def children(self, node_id: str | None, limit: int) -> tuple[list[BrowsedNode], bool]:
        """The nodes below `node_id` (the Objects folder when None) by hierarchical references,
        at most `limit` of them, with each variable's current value; (nodes, truncated)."""
        client = self._client
        if client is None:
            raise EndpointUnavailable(f"{self.label}: not connected")
        parent = client.get_node(node_id) if node_id else client.nodes.objects
        try:
            if node_id is not None:
                await parent.read_node_class()  # a browse of an unknown node answers nothing, not an error
            refs = await parent.get_children_descriptions()
            variables = [client.get_node(r.NodeId) for r in refs[:limit] if r.NodeClass == ua.NodeClass.Variable]
            values = await client.read_attributes(variables) if variables else []
        except UaStatusCodeError as exc:
            name = _status_name(exc)
            if name in ("BadNodeIdUnknown", "BadNodeIdInvalid"):
                raise SignalReadFailed(f"{self.label} has no node {node_id}") from None
            raise EndpointUnavailable(f"{self.label}: browse failed: {_status_words(name)}") from None
        except (TimeoutError, OSError, UaError, ConnectionError) as exc:
            raise EndpointUnavailable(f"{self.label}: connection lost: {_failure(exc)}") from None
        by_node = {n.nodeid.to_string(): v for n, v in zip(variables, values, strict=True)}
        nodes = []
        for ref in refs[:limit]:
            key = ref.NodeId.to_string()
            value = by_node.get(key)
            good = value is not None and (value.StatusCode is None or value.StatusCode.is_good())
            variant = value.Value if good and value is not None and value.Value is not None else None
            nodes.append(BrowsedNode(
                node_id=key, name=ref.DisplayName.Text or ref.BrowseName.Name or key,
                node_class=_NODE_CLASSES.get(ref.NodeClass, "other"),
                value_type=variant.VariantType.name if variant is not None else None,
                value=_short(variant.Value) if variant is not None else None,
                counter=variant is not None and variant.VariantType in _COUNTER_MODULUS
                and variant.VariantType is not _VT.Boolean,
            ))
        return nodes, len(refs) > limit

    async def read(self, machines: Sequence[OpcUaMachine]) -> dict[str, Reading | ConnectivityError]:
        client = self._client
        if client is None:
            raise EndpointUnavailable(f"{self.label}: not connected")
        if self.pushed is not None:
            self.pushed.check_alive()
            await self.pushed.watch(machines)
            return {m.machine_id: self.pushed.reading(m, self._reading) for m in machines}
        node_ids: list[str] = []
        for machine in machines:
            node_ids.extend(n for n in (getattr(machine.signals, s) for s in _SIGNALS) if n is not None)
        nodes = [self._node(client, n) for n in node_ids]
        values: list[ua.DataValue] = []
        try:
            for start in range(0, len(nodes), self._max_nodes):
                values.extend(await client.read_attributes(nodes[start : start + self._max_nodes]))
        except UaStatusCodeError as exc:
            raise EndpointUnavailable(f"{self.label}: read failed: {_status_words(_status_name(exc))}") from None
        except (TimeoutError, OSError, UaError, ConnectionError) as exc:
            raise EndpointUnavailable(f"{self.label}: connection lost: {_failure(exc)}") from None
        by_node = dict(zip(node_ids, values, strict=True))
        return {m.machine_id: self._reading(m, by_node) for m in machines}

    def _node(self, client: Client, node_id: str) -> Any:
        node = self._nodes.get(node_id)
        if node is None:
            node = self._nodes[node_id] = client.get_node(node_id)
        return node

    def _reading(self, machine: OpcUaMachine, by_node: dict[str, ua.DataValue]) -> Reading | ConnectivityError:
        signals = machine.signals
        problems: list[str] = []
        values: dict[str, tuple[Any, ua.VariantType]] = {}
        for name in _SIGNALS:
            node = getattr(signals, name)
            if node is None:
                continue
            try:
                values[name] = self._value(by_node, node)
            except ValueError as exc:
                problems.append(f"{_SIGNAL_WORDS[name]} {exc}")
        try:
            if not problems:
                alarm = values.get("alarm")
                return Reading(
                    good=_counter(*values["good"], signals.good),
                    reject=_counter(*values["reject"], signals.reject),
                    state_code=_code(*values["state"], signals.state),
                    alarm_code=_code(*alarm, signals.alarm) if alarm and signals.alarm else None,
                )
        except ValueError as exc:
            problems.append(str(exc))
        # Naming the machine by its code: the poller's own ids mean nothing to a plant's admin.
        return SignalReadFailed(f"{machine_label(machine)} on {self.label}: {'; '.join(problems[:2])}")

    @staticmethod
    def _value(by_node: dict[str, ua.DataValue], node: str) -> tuple[Any, ua.VariantType]:
        dv = by_node[node]
        status = dv.StatusCode
        if status is not None and not status.is_good():
            raise ValueError(f"{node}: {_status_words(status.name)}")
        if dv.Value is None or dv.Value.Value is None:
            raise ValueError(f"{node}: no value")
        return dv.Value.Value, dv.Value.VariantType
