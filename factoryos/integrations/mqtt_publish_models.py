"""Request and response models of `/api/v1/integrations/mqtt-publish` (server and client import these)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

Mode = Literal["sparkplug", "tree", "both"]
Health = Literal["connecting", "connected", "error", "disabled"]
# A Sparkplug id or topic level: no MQTT wildcards, no level separator (topic prefix may have `/`).
_ID = r"^[^/+#\s]{1,64}$"
_PREFIX = r"^[^+#\s/]{1,64}(/[^+#\s/]{1,64}){0,3}$"


class MqttPublishIn(BaseModel):
    """The broker and what to publish. A password left out keeps the stored one; `""` removes it."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^mqtts?://[^/:\s]+(:\d{1,5})?/?$", max_length=300,
                     description="mqtt://host[:port], or mqtts://host[:port] for TLS.")
    username: str | None = Field(None, max_length=200)
    password: SecretStr | None = Field(None, description="Stored encrypted, never sent back.")
    ca_certificate: Path | None = Field(None, description="CA of the broker's certificate (PEM, path on the server).")
    client_certificate: Path | None = Field(None, description="Client certificate (PEM, path on the server).")
    client_private_key: Path | None = Field(None, description="Client private key (PEM, unencrypted, path on the server).")
    mode: Mode = Field("both", description="sparkplug: FactoryOS as a Sparkplug B edge node; tree: retained JSON "
                       "topics <prefix>/<site>/<line>/<machine>/{state,counts,order,oee}; both.")
    group_id: str | None = Field(None, pattern=_ID, description="Sparkplug group id (default: the topic prefix's "
                                 "first level).")
    edge_node_id: str = Field("FactoryOS", pattern=_ID, description="Sparkplug edge node id.")
    topic_prefix: str | None = Field(None, pattern=_PREFIX, description="First levels of the JSON topic tree "
                                     "(default: the company's name, made topic-safe).")
    interval_seconds: int = Field(2, ge=1, le=3600, description="How often state, counts and order are checked; "
                                  "only changes are published.")
    oee_seconds: int = Field(60, ge=5, le=3600, description="How often the running shift's OEE is published.")
    enabled: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> MqttPublishIn:
        if (self.client_certificate is None) != (self.client_private_key is None):
            raise ValueError("client_certificate and client_private_key go together")
        if not self.url.startswith("mqtts://") and (self.ca_certificate or self.client_certificate):
            raise ValueError("certificates need an mqtts:// url")
        for path in (self.ca_certificate, self.client_certificate, self.client_private_key):
            if path is not None and not path.is_absolute():
                raise ValueError(f"{path} is not an absolute path on the server")
        return self


class MqttPublishHealth(BaseModel):
    state: Health = Field(description="connecting (saved, not connected yet), connected, error, disabled.")
    last_error: str | None = Field(description="Why the last attempt failed, in words.")
    error_code: str | None
    last_connected_at: datetime | None
    last_published_at: datetime | None
    at: datetime | None = Field(description="When the publisher last reported.")


class MqttPublishOut(BaseModel):
    url: str
    username: str | None
    password_set: bool = Field(description="A password is stored (it is never shown).")
    ca_certificate: str | None
    client_certificate: str | None
    client_private_key: str | None
    mode: Mode
    group_id: str
    edge_node_id: str
    topic_prefix: str
    interval_seconds: int
    oee_seconds: int
    enabled: bool
    health: MqttPublishHealth
    created_at: datetime
    updated_at: datetime


class MqttPublishTestOut(BaseModel):
    ok: bool
    topic: str | None = Field(description="Where the test message was published (the tree's prefix, or the "
                              "Sparkplug node's STATE-less test topic).")
    error: str | None = Field(description="Why it failed, in words (as health would say).")
    error_code: str | None
