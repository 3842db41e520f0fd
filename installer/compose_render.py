"""Render the compose template with this installation's values.

The template uses `%{name}` placeholders so that Compose's own `${VAR}` interpolation
(secrets from .env) passes through untouched.
"""

from __future__ import annotations

import ipaddress
import re
import string
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from installer.errors import InstallError

TEMPLATE_NAME = "docker-compose.yml.tmpl"
COMPOSE_FILE_NAME = "docker-compose.yml"
SERVICES = ("postgres", "api", "nginx")  # one image each
# The browser screens (`factoryos web`) run from the api image, which holds the whole package.
IMAGE_OF = {"web": "api"}
STACK_SERVICES = ("postgres", "api", "web", "nginx")
# Paths go unquoted into short volume syntax, where ':' and spaces have meaning.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9_./-]*$")
# The network nginx and the api share. Its address is fixed so that the api can trust
# X-Forwarded-For from nginx alone; the installer picks a free one (installer.network).
DEFAULT_FRONTEND_SUBNET = "172.31.255.0/24"


class _Template(string.Template):
    delimiter = "%"


@dataclass(frozen=True)
class ComposeParams:
    version: str
    bind_ip: str
    https_port: int
    tls_dir: str
    license_dir: str
    host_id: str
    log_level: str = "info"
    frontend_subnet: str = DEFAULT_FRONTEND_SUBNET
    backups_dir: str = "/opt/factoryos/backups"
    first_sign_in_dir: str = "/opt/factoryos/first-sign-in"
    backup_copy_to: str = ""  # host folder for off-host copies; "" ⇒ none
    # Warm standby (`factoryos standby pair`, `install --standby-of`): the database joins a network that
    # leaves the host (a standby streams from it, or the primary streams to it) ...
    replication_network: bool = False
    # ... and, on a paired primary, its port is published here ("" ⇒ not published).
    replication_bind: str = ""
    replication_port: int = 0


# Where the api sees the off-host copies folder.
BACKUP_COPIES_MOUNT = "/var/lib/factoryos/backup-copies"


@dataclass(frozen=True)
class FrontendAddresses:
    """nginx takes the subnet's second address and the web screens the third; containers
    without a fixed one get addresses from its upper half only, so none can ever take theirs."""

    subnet: str
    ip_range: str
    proxy_ip: str
    web_ip: str


def frontend_addresses(subnet: str) -> FrontendAddresses:
    try:
        network = ipaddress.IPv4Network(subnet, strict=True)
    except ValueError:
        raise InstallError(
            f"frontend subnet {subnet!r} is not an IPv4 network such as 172.31.255.0/24", code="subnet_invalid"
        ) from None
    if network.prefixlen > 28 or not network.is_private or network.is_loopback:
        raise InstallError(
            f"frontend subnet {subnet} must be a private IPv4 network of at least 16 addresses (/28 or wider)",
            code="subnet_invalid",
        )
    upper = list(network.subnets(prefixlen_diff=1))[1]
    return FrontendAddresses(str(network), str(upper), str(network.network_address + 2),
                             str(network.network_address + 3))


def compose_dir() -> Path:
    """The compose/ folder: inside the installed package, or at the root of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "compose", here.parent / "compose"):
        if (candidate / TEMPLATE_NAME).is_file():
            return candidate
    raise InstallError("the compose template is missing from this FactoryOS installation", code="template_missing")


def image_tag(service: str, version: str) -> str:
    return f"factoryos/{service}:{version}"


def render(params: ComposeParams, template: Path | None = None) -> str:
    folders = (("TLS directory", params.tls_dir), ("license directory", params.license_dir),
               ("backups directory", params.backups_dir), ("first sign-in folder", params.first_sign_in_dir),
               *((("backup copies folder", params.backup_copy_to),) if params.backup_copy_to else ()))  # fmt: skip
    for label, path in folders:
        if not _SAFE_PATH.match(path):
            raise InstallError(
                f"{label} {path!r} must be an absolute path of letters, digits and ._-/ only; choose another --dir",
                code="path_unsafe",
            )
    source = (template or compose_dir() / TEMPLATE_NAME).read_text()
    values = {key: str(value) for key, value in asdict(params).items()}
    frontend = frontend_addresses(params.frontend_subnet)
    values.update(frontend_ip_range=frontend.ip_range, proxy_ip=frontend.proxy_ip, web_ip=frontend.web_ip,
                  backup_copy_env="", backup_copy_volume="", **_replication_lines(params))  # fmt: skip
    if params.backup_copy_to:  # optional lines, appended to the ones they follow in the template
        values["backup_copy_env"] = f"\n      FACTORYOS_BACKUP_COPY_TO: {BACKUP_COPIES_MOUNT}"
        values["backup_copy_volume"] = f"\n      - {params.backup_copy_to}:{BACKUP_COPIES_MOUNT}"
    try:
        text = _Template(source).substitute(values)
    except (KeyError, ValueError) as exc:
        raise InstallError(f"the compose template has an unknown placeholder: {exc}", code="template_invalid") from None
    yaml.safe_load(text)  # fail here, not inside `docker compose`
    return text


def _replication_lines(params: ComposeParams) -> dict[str, str]:
    """Optional lines of a paired database: none at all for an installation without a standby."""
    lines = {"replication_network_ref": "", "replication_ports": "", "replication_network": ""}
    if not (params.replication_network or params.replication_port):
        return lines
    lines["replication_network_ref"] = "\n      - replication"
    lines["replication_network"] = ("\n  # Warm standby only: the database streams its WAL to (or from) the other host."
                                    "\n  replication: {}")  # fmt: skip
    if params.replication_port:
        try:
            ipaddress.IPv4Address(params.replication_bind)
        except ValueError:
            raise InstallError(f"replication address {params.replication_bind!r} is not an IPv4 address",
                               code="bind_invalid") from None  # fmt: skip
        lines["replication_ports"] = (f"\n    # TLS and the standby's own role only (pg_hba.conf); every other login is "
                                      f"refused from there.\n    ports:\n      - \"{params.replication_bind}:"
                                      f"{params.replication_port}:5432\"")  # fmt: skip
    return lines


def write(params: ComposeParams, destination: Path) -> Path:
    target = destination / COMPOSE_FILE_NAME
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render(params))
    tmp.replace(target)
    return target
