"""API shapes of a machine's connection settings and health."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from factoryos.connectivity.machine_config import ModbusEndpoint, ModbusSignals, OpcUaEndpoint, OpcUaSignals


class ConnectionIn(BaseModel):
    """How the poller reaches one machine and where its signals live.

    `endpoint` and `signals` are documented by the protocol's models but validated
    together with the machine (its status mapping and cycle time) by the connectivity
    config models, so every error names the offending field, e.g. `endpoint.port`.
    Passwords left out keep the stored ones (they are never sent back).
    """

    model_config = ConfigDict(extra="forbid")

    protocol: Literal["modbus", "opcua"]
    enabled: bool = Field(True, description="Disabled connections keep their settings but are not polled.")
    poll_interval: float = Field(1.0, ge=0.05, le=3600, description="Seconds between polls.")
    endpoint: SkipValidation[ModbusEndpoint | OpcUaEndpoint]
    signals: SkipValidation[ModbusSignals | OpcUaSignals]


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
    protocol: Literal["modbus", "opcua"]
    enabled: bool
    poll_interval: float
    endpoint: dict[str, Any] = Field(description="As validated, without passwords.")
    signals: dict[str, Any]
    has_password: bool = Field(description="An OPC-UA user password is stored (encrypted).")
    has_key_password: bool = Field(description="A private key password is stored (encrypted).")
    health: ConnectionHealth
    created_at: datetime
    updated_at: datetime


class LiveConnection(BaseModel):
    """A machine's connection as the live view shows it."""

    protocol: Literal["modbus", "opcua"]
    enabled: bool
    health: ConnectionHealth
