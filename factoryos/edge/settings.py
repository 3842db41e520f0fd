"""`edge.toml`: what a site edge needs to run.

    [edge]
    token = "edge_…"                      # from POST /api/v1/edges (shown once)
    server = "https://factoryos.example"  # where the site's machine list comes from (optional)
    data_dir = "/var/lib/factoryos-edge"  # spool and the last machine list
    reload_seconds = 30

    [broker]
    url = "mqtts://broker.example:8883"
    ca_certificate = "/etc/factoryos/broker-ca.pem"

    [[machines]]                           # air-gapped start: the machines, as the API gives them
    machine_id = "<company id>/<machine id>"
    …

Without `server`, or while it cannot be reached, the edge polls the `[[machines]]` of the file,
else the list it last received (kept in the data directory).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from factoryos.connectivity.machine_config import AnyMachine, parse_machine_configs
from factoryos.edge.registry import parse_token
from factoryos.errors import ValidationFailed


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EdgeSection(_Strict):
    token: SecretStr
    server: str | None = Field(None, description="https://… of the central FactoryOS server.")
    server_ca_certificate: Path | None = None
    data_dir: Path
    reload_seconds: float = Field(30.0, ge=1, le=3600)


class BrokerSection(_Strict):
    url: str
    ca_certificate: Path | None = None
    timeout: float = Field(10.0, gt=0, le=120)


class EdgeFile(_Strict):
    edge: EdgeSection
    broker: BrokerSection
    machines: list[dict[str, Any]] = Field(default_factory=list)


class EdgeSettings:
    def __init__(self, data: EdgeFile) -> None:
        self.file = data
        parsed = parse_token(data.edge.token.get_secret_value())
        if parsed is None:
            raise ValidationFailed("edge.token: not an edge token (edge_…)", field="edge.token")
        self.tenant_id, self.edge_id, self.secret = parsed
        self.machines: list[AnyMachine] = parse_machine_configs(data.machines)

    @property
    def group(self) -> str:
        return str(self.tenant_id)

    @property
    def node(self) -> str:
        return str(self.edge_id)

    @classmethod
    def load(cls, path: Path) -> EdgeSettings:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise ValidationFailed(f"{path}: cannot read it ({exc.strerror})", field="config") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValidationFailed(f"{path}: not valid TOML ({exc})", field="config") from None
        try:
            return cls(EdgeFile.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ValidationFailed(f"{path}: {where}: {err['msg']}", field=where) from None
