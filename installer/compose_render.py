"""Render the compose template with this installation's values.

The template uses `%{name}` placeholders so that Compose's own `${VAR}` interpolation
(secrets from .env) passes through untouched.
"""

from __future__ import annotations

import re
import string
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from installer.errors import InstallError

TEMPLATE_NAME = "docker-compose.yml.tmpl"
COMPOSE_FILE_NAME = "docker-compose.yml"
SERVICES = ("postgres", "api", "nginx")
# Paths go unquoted into short volume syntax, where ':' and spaces have meaning.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9_./-]*$")


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
    for label, path in (("TLS directory", params.tls_dir), ("license directory", params.license_dir)):
        if not _SAFE_PATH.match(path):
            raise InstallError(
                f"{label} {path!r} must be an absolute path of letters, digits and ._-/ only; choose another --dir",
                code="path_unsafe",
            )
    source = (template or compose_dir() / TEMPLATE_NAME).read_text()
    try:
        text = _Template(source).substitute({key: str(value) for key, value in asdict(params).items()})
    except (KeyError, ValueError) as exc:
        raise InstallError(f"the compose template has an unknown placeholder: {exc}", code="template_invalid") from None
    yaml.safe_load(text)  # fail here, not inside `docker compose`
    return text


def write(params: ComposeParams, destination: Path) -> Path:
    target = destination / COMPOSE_FILE_NAME
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render(params))
    tmp.replace(target)
    return target
