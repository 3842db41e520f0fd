"""API shapes of a machine's connection settings and health."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from factoryos.connectivity.machine_config import (
    JsonSignals,
    ModbusEndpoint,
    ModbusSignals,
    MqttEndpoint,
    OpcUaEndpoint,
    OpcUaSignals,
    SparkplugSignals,
)
from factoryos.connectivity.states import MachineState


class ConnectionIn(BaseModel):
    """How the poller reaches one machine and where its signals live.

    `endpoint` and `signals` are documented by the protocol's models but validated
    together with the machine (its status mapping and cycle time) by the connectivity
    config models, so every error names the offending field, e.g. `endpoint.port`.
    Passwords left out keep the stored ones (they are never sent back).
    """

    model_config = ConfigDict(extra="forbid")

    protocol: Literal["modbus", "opcua", "mqtt"]
    enabled: bool = Field(True, description="Disabled connections keep their settings but are not polled.")
    poll_interval: float = Field(1.0, ge=0.05, le=3600, description=(
        "Seconds between polls. With an OPC-UA subscription: how often the values pushed meanwhile are "
        "taken over (each keeps its source time)."))
    endpoint: SkipValidation[ModbusEndpoint | OpcUaEndpoint | MqttEndpoint]
    signals: SkipValidation[ModbusSignals | OpcUaSignals | SparkplugSignals | JsonSignals]


class ConnectionHealth(BaseModel):
    state: Literal["ok", "error", "reconnecting", "disabled"] = Field(
        description="ok: the last poll succeeded; error: it failed (see `last_error`); reconnecting: the "
                    "settings were saved and the poller has not reported with them yet; disabled: not polled.")
    last_ok: datetime | None = Field(description="Last successful poll.")
    last_error: str | None = Field(description="Why the last poll failed; null while polls succeed.")
    error_code: str | None = Field(description="Stable code of `last_error`.")
    reported_at: datetime | None = Field(description="When the poller last reported; null before its first poll.")


class ConnectionOut(BaseModel):
    machine_id: UUID
    protocol: Literal["modbus", "opcua", "mqtt"]
    enabled: bool
    poll_interval: float
    endpoint: dict[str, Any] = Field(description="As validated, without passwords.")
    signals: dict[str, Any]
    has_password: bool = Field(description="An OPC-UA or MQTT broker user password is stored (encrypted).")
    has_key_password: bool = Field(description="A private key password is stored (encrypted).")
    health: ConnectionHealth
    created_at: datetime
    updated_at: datetime


class LiveConnection(BaseModel):
    """A machine's connection as the live view shows it."""

    protocol: Literal["modbus", "opcua", "mqtt"]
    enabled: bool
    health: ConnectionHealth


class ProbeReading(BaseModel):
    good_raw: int = Field(description="The good-part counter as read (raw, before any scale).")
    reject_raw: int
    state_code: int = Field(description="The raw status code as read.")
    state: MachineState = Field(description="What the machine's status mapping makes of `state_code`.")
    alarm_code: int | None


class ConnectionProbeOut(BaseModel):
    """*Test connection*: one read with the settings sent (not saved), as the poller would do it."""

    ok: bool
    reading: ProbeReading | None = Field(description="The values read; null when the read failed.")
    error: str | None = Field(description="Why the read failed, in the words the connection's health would use.")
    error_code: str | None = Field(description="Stable code of `error`.")
    elapsed_ms: int


NodeClassName = Literal["object", "variable", "method", "other"]


class BrowseIn(BaseModel):
    """Browse an OPC-UA server's address space with these endpoint settings (not saved), to pick
    the counter and status nodes. Passwords left out are the stored ones, as for *Test connection*."""

    model_config = ConfigDict(extra="forbid")

    endpoint: dict[str, Any] = Field(description="The OPC-UA endpoint, as in a connection's `endpoint`.")
    node_id: str | None = Field(None, max_length=500,
                                description="The node whose children to list; null ⇒ the Objects folder.")


class BrowsedNode(BaseModel):
    node_id: str = Field(description="The node id to put into a signal, e.g. `ns=2;s=Press1.Good`.")
    name: str = Field(description="The node's display name.")
    node_class: NodeClassName
    value_type: str | None = Field(description="A variable's value type (e.g. UInt32); null for other nodes.")
    value: str | None = Field(description="A variable's current value, shortened to 40 characters.")
    counter: bool = Field(description="True when the value is a number that can count parts.")


class BrowseOut(BaseModel):
    ok: bool
    node_id: str | None = Field(description="The node browsed (null: the Objects folder).")
    nodes: list[BrowsedNode]
    truncated: bool = Field(description="More children exist than were listed.")
    error: str | None = Field(description="Why browsing failed, in the words the connection's health would use.")
    error_code: str | None
