"""Per-machine connection settings and signal mapping (validated with pydantic).

A machine is read over OPC-UA (one node per signal, polled or by subscription), Modbus TCP
(one register range per signal) or MQTT (Sparkplug B metrics or fields of a JSON topic,
pushed by the machine). Four signals matter: the good-part counter, the reject counter, the
status code (mapped to a `MachineState`) and, optionally, an alarm code. The status and alarm
may take an absolute deadband; the counters never do (they are totals).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from factoryos.connectivity.states import DEFAULT_UNMAPPED_STATE, MachineState
from factoryos.errors import ValidationFailed
from factoryos.plain_errors import plain


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegisterType(StrEnum):
    HOLDING = "holding"
    INPUT = "input"
    COIL = "coil"
    DISCRETE = "discrete"

    @property
    def is_bit(self) -> bool:
        return self in (RegisterType.COIL, RegisterType.DISCRETE)


class DataType(StrEnum):
    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"

    @property
    def registers(self) -> int:
        return _REGISTERS[self]


_REGISTERS = {DataType.UINT16: 1, DataType.INT16: 1, DataType.UINT32: 2, DataType.INT32: 2, DataType.FLOAT32: 2,
              DataType.UINT64: 4, DataType.FLOAT64: 4}


Order = Literal["big", "little"]


# Counters are totals: a deadband would hold the last parts of a run back until the next part came
# (into a later minute, or shift), so it is refused rather than applied.
_COUNTER_DEADBAND = ("{name} is a counter: counters are totals and take no deadband "
                     "(it would hold parts back); use it on state or alarm")


class ModbusSignal(_Model):
    """Where one value lives in a Modbus device and how its registers are decoded."""

    register_type: RegisterType = RegisterType.HOLDING
    address: int = Field(ge=0, le=65535, description="Zero-based register or bit address.")
    data_type: DataType = DataType.UINT16
    byte_order: Order = Field(default="big", description="Byte order inside each 16-bit register.")
    word_order: Order = Field(default="big", description="Register order of 32- and 64-bit values.")
    scale: float = Field(default=1.0, gt=0, description="Raw value × scale = engineering value.")
    bit: int | None = Field(default=None, ge=0, le=15,
                            description="One bit (0 = least significant) of a 16-bit register: a status flag.")
    deadband: float | None = Field(
        default=None, gt=0, le=1e9,
        description="Status and alarm signals only: a change of the scaled value up to this size is ignored.")

    @model_validator(mode="after")
    def _fits(self) -> ModbusSignal:
        if self.register_type.is_bit and self.data_type is not DataType.UINT16:
            raise ValueError(f"{self.register_type.value} signals are single bits: use data_type 'uint16'")
        if self.bit is not None and (self.register_type.is_bit or self.data_type is not DataType.UINT16):
            raise ValueError("bit picks one bit of a 16-bit holding or input register: use data_type 'uint16'")
        if self.address + self.width > 65536:
            raise ValueError(f"address {self.address} + {self.width} registers runs past 65535")
        return self

    @property
    def width(self) -> int:
        """Registers (or bits) the value occupies."""
        return 1 if self.register_type.is_bit else self.data_type.registers


class CounterBound(_Model):
    """Plausibility of one counter, over the machine's settings."""

    factor: float | None = Field(
        default=None, ge=1, le=1_000_000, description="Overrides the machine's factor for this counter."
    )
    max_parts: int | None = Field(
        default=None, ge=1, description="Fixed maximum of parts between two readings, whatever the time elapsed."
    )


class Plausibility(_Model):
    """How many parts a counter may claim between two readings: ideal rate × factor × elapsed
    time + 1, capped by the counter's `max_parts`. A larger jump is held as a counter anomaly
    for a supervisor to accept or discard, never stored as production."""

    factor: float = Field(default=1.5, ge=1, le=1_000_000, description="Slack over the ideal rate.")
    good: CounterBound = CounterBound()
    reject: CounterBound = CounterBound()

    def bound_of(self, signal: Literal["good", "reject"]) -> tuple[float, int | None]:
        """(factor, fixed maximum) of one counter."""
        counter: CounterBound = getattr(self, signal)
        return (counter.factor if counter.factor is not None else self.factor), counter.max_parts


class ModbusSignals(_Model):
    good: ModbusSignal
    reject: ModbusSignal
    state: ModbusSignal
    alarm: ModbusSignal | None = None
    plausibility: Plausibility = Plausibility()

    @model_validator(mode="after")
    def _counters_are_numbers(self) -> ModbusSignals:
        for name in ("good", "reject"):
            if getattr(self, name).bit is not None:
                raise ValueError(f"{name} is a counter: a single bit cannot count parts")
        return self

    @field_validator("good", "reject")
    @classmethod
    def _counters_take_no_deadband(cls, signal: ModbusSignal, info: ValidationInfo) -> ModbusSignal:
        if signal.deadband is not None:  # a field validator, so the refusal names the counter
            raise ValueError(_COUNTER_DEADBAND.format(name=info.field_name))
        return signal

    def deadband_of(self, signal: Literal["state", "alarm"]) -> float | None:
        where = getattr(self, signal)
        return where.deadband if where is not None else None


class ModbusEndpoint(_Model):
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255, description="Modbus unit (slave/device) id.")
    timeout: float = Field(default=2.0, gt=0, le=60)

    @property
    def key(self) -> tuple[Any, ...]:
        """Machines on one host:port share a TCP connection, whatever their unit id."""
        return ("modbus", self.host, self.port)

    @property
    def label(self) -> str:
        return f"modbus://{self.host}:{self.port}"


class SecurityPolicy(StrEnum):
    """The OPC-UA security policies a plant's servers offer today (the older Basic128Rsa15 and
    Basic256 are deprecated by the OPC Foundation and not offered)."""

    NONE = "None"
    BASIC256SHA256 = "Basic256Sha256"
    AES128_SHA256_RSAOAEP = "Aes128_Sha256_RsaOaep"
    AES256_SHA256_RSAPSS = "Aes256_Sha256_RsaPss"


class SecurityMode(StrEnum):
    SIGN = "Sign"
    SIGN_AND_ENCRYPT = "SignAndEncrypt"


class OpcUaSecurity(_Model):
    policy: SecurityPolicy = SecurityPolicy.NONE
    mode: SecurityMode | None = None
    client_certificate: Path | None = Field(default=None, description="Client certificate (DER or PEM).")
    client_private_key: Path | None = Field(default=None, description="Client private key (PEM or DER).")
    private_key_password: SecretStr | None = None
    server_certificate: Path | None = Field(default=None, description="Trusted server certificate.")

    @model_validator(mode="after")
    def _complete(self) -> OpcUaSecurity:
        if self.policy is SecurityPolicy.NONE:
            if self.mode is not None:
                raise ValueError("mode needs a security policy (e.g. 'Basic256Sha256')")
            return self
        missing = [
            name
            for name in ("mode", "client_certificate", "client_private_key", "server_certificate")
            if getattr(self, name) is None
        ]
        if missing:
            raise ValueError(f"policy {self.policy.value} needs {', '.join(missing)}")
        return self


def _check_node_id(value: str) -> str:
    from asyncua import ua  # asyncua is heavy: import only when configs are validated

    try:
        ua.NodeId.from_string(value)
    except Exception as exc:  # asyncua raises several types for malformed ids
        raise ValueError(f"not an OPC-UA node id (e.g. 'ns=2;s=Press1.Good'): {value!r}") from exc
    return value


def check_node_id(value: str, *, field: str) -> None:
    """Refuse a malformed node id with the field named (for requests that take one alone)."""
    try:
        _check_node_id(value)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="invalid_node_id", field=field) from None


NodeIdStr = Annotated[str, Field(min_length=1)]


class OpcUaDeadbands(_Model):
    """Absolute deadbands of the status and alarm values: a change up to this size is ignored (for
    status values that jitter, e.g. an analog signal). In subscription mode the server filters
    (DataChangeFilter); when polling, FactoryOS does. Counters take none: they are totals."""

    state: float | None = Field(default=None, gt=0, le=1e9)
    alarm: float | None = Field(default=None, gt=0, le=1e9)

    @model_validator(mode="before")
    @classmethod
    def _no_counters(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("good", "reject"):
                if data.get(name) is not None:
                    raise ValueError(_COUNTER_DEADBAND.format(name=name))
        return data


class OpcUaSignals(_Model):
    good: NodeIdStr
    reject: NodeIdStr
    state: NodeIdStr
    alarm: NodeIdStr | None = None
    plausibility: Plausibility = Plausibility()
    deadband: OpcUaDeadbands = OpcUaDeadbands()

    def deadband_of(self, signal: Literal["state", "alarm"]) -> float | None:
        return getattr(self.deadband, signal)

    @field_validator("good", "reject", "state", "alarm")
    @classmethod
    def _node_id(cls, value: str | None) -> str | None:
        return None if value is None else _check_node_id(value)


class Acquisition(StrEnum):
    """How an OPC-UA connection gets its values."""

    POLLING = "polling"  # one Read every poll interval, stamped with the poll's time
    SUBSCRIPTION = "subscription"  # the server pushes changes, stamped with their source time


class OpcUaEndpoint(_Model):
    url: str = Field(pattern=r"^opc\.tcp://[^/:\s]+(:\d{1,5})?(/.*)?$")
    security: OpcUaSecurity = OpcUaSecurity()
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(default=4.0, gt=0, le=60)
    acquisition: Acquisition = Field(
        default=Acquisition.POLLING,
        description="polling: read every poll interval, stamped with the poll's time; subscription: the "
                    "server pushes each change with its source timestamp (counts land in the minute they "
                    "were made even when a poll is late).")
    publishing_interval: float | None = Field(
        default=None, ge=0.05, le=60,
        description="Subscription only: seconds between the server's change messages (default 0.5).")

    @model_validator(mode="after")
    def _credentials(self) -> OpcUaEndpoint:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self

    @field_validator("publishing_interval")
    @classmethod
    def _subscription_only(cls, value: float | None, info: ValidationInfo) -> float | None:
        # A field validator (not the model's) so that the refusal names this field.
        if value is not None and info.data.get("acquisition") is not Acquisition.SUBSCRIPTION:
            raise ValueError("applies to acquisition 'subscription' only")
        return value

    @property
    def publishing_seconds(self) -> float:
        """The publishing interval asked of the server (subscription mode)."""
        return self.publishing_interval if self.publishing_interval is not None else 0.5

    @property
    def key(self) -> tuple[Any, ...]:
        """Machines share a session only when URL, security, user and acquisition all match."""
        return ("opcua", self.url, self.security, self.username, self.password, self.acquisition,
                self.publishing_interval)

    @property
    def label(self) -> str:
        return self.url


_TOPIC_PART = r"^[^/+#\s]+$"  # one topic level: no separators or wildcards


class MqttEndpoint(_Model):
    """A broker. `mqtts://` is TLS: the broker's certificate is checked against `ca_certificate`
    (or the system's CAs); a client certificate and key authenticate us where the broker asks."""

    url: str = Field(pattern=r"^mqtts?://[^/:\s]+(:\d{1,5})?/?$", description="mqtt://host[:port] or mqtts://…")
    username: str | None = None
    password: SecretStr | None = None
    ca_certificate: Path | None = Field(default=None, description="CA that signed the broker's certificate (PEM).")
    client_certificate: Path | None = Field(default=None, description="Client certificate (PEM).")
    client_private_key: Path | None = Field(default=None, description="Client private key (PEM, unencrypted).")
    timeout: float = Field(default=4.0, gt=0, le=60)

    @model_validator(mode="after")
    def _consistent(self) -> MqttEndpoint:
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        if (self.client_certificate is None) != (self.client_private_key is None):
            raise ValueError("client_certificate and client_private_key go together")
        if not self.tls and (self.ca_certificate or self.client_certificate):
            raise ValueError("certificates need an mqtts:// url")
        return self

    @property
    def tls(self) -> bool:
        return self.url.startswith("mqtts://")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

    @property
    def key(self) -> tuple[Any, ...]:
        """Machines share one broker session when URL, user and certificates all match."""
        return ("mqtt", self.url, self.username, self.password, self.ca_certificate, self.client_certificate,
                self.client_private_key)

    @property
    def label(self) -> str:
        return self.url


class SparkplugSignals(_Model):
    """Metrics of one Sparkplug B device (or of the edge node itself when `device_id` is left out),
    by metric name as declared in its NBIRTH/DBIRTH."""

    format: Literal["sparkplug"]
    group_id: str = Field(pattern=_TOPIC_PART)
    edge_node_id: str = Field(pattern=_TOPIC_PART)
    device_id: str | None = Field(default=None, pattern=_TOPIC_PART)
    good: str = Field(min_length=1)
    reject: str = Field(min_length=1)
    state: str = Field(min_length=1)
    alarm: str | None = None
    plausibility: Plausibility = Plausibility()


class JsonSignals(_Model):
    """Fields of JSON messages on one topic (`a.b` reaches into nested objects). A topic has no
    death certificate: `stale_after` seconds without a message count as no data."""

    format: Literal["json"]
    topic: str = Field(min_length=1, pattern=r"^[^+#]+$", description="No wildcards.")
    good: str = Field(min_length=1)
    reject: str = Field(min_length=1)
    state: str = Field(min_length=1)
    alarm: str | None = None
    stale_after: float | None = Field(default=None, gt=0, description="Seconds without a message ⇒ no data.")
    plausibility: Plausibility = Plausibility()


MqttSignals: TypeAlias = Annotated[SparkplugSignals | JsonSignals, Field(discriminator="format")]


class StatusMapping(_Model):
    """Raw PLC status code → state. Unmapped codes become `default`."""

    codes: dict[int, MachineState] = Field(default_factory=dict)
    default: MachineState = DEFAULT_UNMAPPED_STATE

    @field_validator("codes")
    @classmethod
    def _no_offline(cls, codes: dict[int, MachineState]) -> dict[int, MachineState]:
        for code, state in codes.items():
            if state in (MachineState.OFFLINE, MachineState.NO_DATA):
                raise ValueError(f"code {code}: {state.value!r} is set by the poller, not mapped")
        return codes

    def state_for(self, code: int) -> MachineState:
        return self.codes.get(code, self.default)


class _MachineBase(_Model):
    machine_id: str = Field(min_length=1, max_length=200)
    name: str | None = None
    poll_interval: float = Field(default=1.0, ge=0.05, le=3600, description="Seconds between polls.")
    ideal_cycle_time: float | None = Field(
        default=None, gt=0, description="Seconds per part; bounds how far a counter can plausibly wrap."
    )
    status_map: StatusMapping = StatusMapping()


class ModbusMachine(_MachineBase):
    protocol: Literal["modbus"]
    endpoint: ModbusEndpoint
    signals: ModbusSignals


class OpcUaMachine(_MachineBase):
    protocol: Literal["opcua"]
    endpoint: OpcUaEndpoint
    signals: OpcUaSignals


class MqttMachine(_MachineBase):
    protocol: Literal["mqtt"]
    endpoint: MqttEndpoint
    signals: MqttSignals


AnyMachine: TypeAlias = ModbusMachine | OpcUaMachine | MqttMachine
MachineConfig: TypeAlias = Annotated[AnyMachine, Field(discriminator="protocol")]
_adapter: TypeAdapter[AnyMachine] = TypeAdapter(MachineConfig)
_TAGS = ("modbus", "opcua", "mqtt")


def _describe(error: Any, prefix: str) -> tuple[str, str]:
    """(field path, message) of one pydantic error, phrased for the person editing the config."""
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        if tuple(error["loc"])[1:2] == ("signals",):
            return prefix + "signals.format", "must be 'sparkplug' or 'json'"
        return prefix + "protocol", "must be 'modbus', 'opcua' or 'mqtt'"
    # Drop the discriminator tags pydantic inserts ("modbus", "sparkplug"…) so paths read like the input.
    loc = tuple(error["loc"])
    parts = [str(p) for i, p in enumerate(loc)
             if not (i == 0 and p in _TAGS) and not (i == 2 and loc[1] == "signals" and p in ("sparkplug", "json"))]
    return prefix + (".".join(parts) or "machine"), plain(error)


def _as_validation_failed(exc: ValidationError, prefix: str = "") -> ValidationFailed:
    problems = [_describe(e, prefix) for e in exc.errors()]
    field, message = problems[0]
    return ValidationFailed(
        f"{field}: {message}",
        code="invalid_machine_config",
        field=field,
        extra={"errors": [{"field": f, "message": m} for f, m in problems]},
    )


def parse_machine_config(data: Mapping[str, Any]) -> AnyMachine:
    """Validate one machine's settings; errors name the offending field."""
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        raise _as_validation_failed(exc) from None


def parse_machine_configs(items: Iterable[Mapping[str, Any]]) -> list[AnyMachine]:
    """Validate a list of machines; ids must be unique."""
    machines: list[AnyMachine] = []
    seen: set[str] = set()
    for index, data in enumerate(items):
        try:
            machine = _adapter.validate_python(data)
        except ValidationError as exc:
            raise _as_validation_failed(exc, prefix=f"[{index}].") from None
        if machine.machine_id in seen:
            raise ValidationFailed(
                f"[{index}].machine_id: duplicate machine id {machine.machine_id!r}",
                code="invalid_machine_config",
                field=f"[{index}].machine_id",
            )
        seen.add(machine.machine_id)
        machines.append(machine)
    return machines
