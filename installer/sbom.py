"""The bundle's software bill of materials: CycloneDX 1.5 JSON listing every wheel of the
wheelhouse and every Debian package of each image, so a site can check them against advisories
without network access. It travels inside the signed bundle (listed and hashed in the manifest)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import docker
import docker.errors

from installer.errors import InstallError

SBOM_NAME = "sbom.cdx.json"
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")
_DPKG_FORMAT = r"${Package}\t${Version}\t${Architecture}\n"


@dataclass(frozen=True)
class DebianPackage:
    name: str
    version: str
    arch: str


def wheels_of(wheelhouse: Path) -> list[tuple[str, str]]:
    """(distribution, version) of every wheel, from the file names (PEP 427)."""
    found = []
    for path in sorted(wheelhouse.glob("*.whl")):
        match = _WHEEL.match(path.name)
        if match:
            found.append((match["name"].replace("_", "-").lower(), match["version"]))
    return found


def parse_dpkg(text: str) -> list[DebianPackage]:
    packages = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and all(parts):
            packages.append(DebianPackage(*parts))
    return packages


def image_packages(client: docker.DockerClient, tag: str) -> list[DebianPackage]:
    """The image's installed Debian packages, read by dpkg-query inside it (no network)."""
    try:
        output = client.containers.run(tag, ["-W", f"-f={_DPKG_FORMAT}"], entrypoint=["dpkg-query"], remove=True,
                                       network_disabled=True, stdout=True, stderr=False)  # fmt: skip
    except docker.errors.DockerException as exc:
        raise InstallError(f"listing the Debian packages of {tag} failed: {exc}", code="sbom_failed") from None
    return parse_dpkg(output.decode() if isinstance(output, bytes) else str(output))


def build_sbom(
    *, version: str, wheelhouse: Path, packages: Mapping[str, Sequence[DebianPackage]], now: dt.datetime | None = None
) -> bytes:
    components: dict[str, dict[str, object]] = {}
    for name, wheel_version in wheels_of(wheelhouse):
        purl = f"pkg:pypi/{quote(name)}@{quote(wheel_version)}"
        components[purl] = {"type": "library", "bom-ref": purl, "name": name, "version": wheel_version,
                            "purl": purl, "properties": [{"name": "factoryos:in", "value": "wheelhouse"}]}  # fmt: skip
    for image, found in packages.items():
        for package in found:
            purl = f"pkg:deb/debian/{quote(package.name)}@{quote(package.version)}?arch={package.arch}"
            fresh = {"type": "library", "bom-ref": purl, "name": package.name, "version": package.version,
                     "purl": purl, "properties": []}  # fmt: skip
            entry = components.setdefault(purl, fresh)
            entry["properties"].append({"name": "factoryos:in", "value": image})  # type: ignore[union-attr]
    body = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
            "component": {"type": "application", "bom-ref": f"pkg:generic/factoryos@{version}",
                          "name": "factoryos", "version": version},  # fmt: skip
        },
        "components": sorted(components.values(), key=lambda c: str(c["purl"])),
    }
    return json.dumps(body, indent=2).encode()
