"""The bundle's SBOM: CycloneDX JSON of the wheels and of each image's Debian packages, inside
the signed manifest."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import docker
import docker.errors
import pytest

from installer import bundle, sbom

DPKG = "libc6\t2.36-9+deb12u9\tamd64\npython3\t3.11.2-1+b1\tamd64\nbroken line\n"


def _wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheels"
    house.mkdir()
    for name in ("factoryos-2.0.0-py3-none-any.whl", "SQLAlchemy-2.0.36-cp311-cp311-manylinux_2_17_x86_64.whl",
                 "pydantic_core-2.27.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"):  # fmt: skip
        (house / name).write_bytes(b"PK")
    return house


def test_the_sbom_lists_every_wheel_and_package_once(tmp_path: Path) -> None:
    packages = sbom.parse_dpkg(DPKG)
    assert packages == [sbom.DebianPackage("libc6", "2.36-9+deb12u9", "amd64"),
                        sbom.DebianPackage("python3", "3.11.2-1+b1", "amd64")]  # fmt: skip
    images = {"factoryos/api:2.0.0": packages, "factoryos/nginx:2.0.0": packages[:1]}
    raw = sbom.build_sbom(version="2.0.0", wheelhouse=_wheelhouse(tmp_path), packages=images)
    body = json.loads(raw)
    assert (body["bomFormat"], body["specVersion"]) == ("CycloneDX", "1.5")
    assert body["metadata"]["component"]["version"] == "2.0.0"
    purls = [c["purl"] for c in body["components"]]
    assert len(purls) == len(set(purls)) == 5
    assert "pkg:pypi/sqlalchemy@2.0.36" in purls and "pkg:pypi/pydantic-core@2.27.1" in purls
    libc = next(c for c in body["components"] if c["name"] == "libc6")
    assert libc["purl"] == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64"
    assert [p["value"] for p in libc["properties"]] == ["factoryos/api:2.0.0", "factoryos/nginx:2.0.0"]


def test_the_sbom_travels_in_the_signed_manifest(tmp_path: Path, vendor_key) -> None:
    def export(path: Path, tags: Sequence[str]) -> None:
        path.write_bytes(b"images")

    out = tmp_path / "bundle.tar"
    raw = sbom.build_sbom(version="2.0.0", wheelhouse=_wheelhouse(tmp_path), packages={})
    bundle.build_bundle(out, version="2.0.0", images=[], base_image="b", wheelhouse=tmp_path / "wheels",
                        signing_key=vendor_key, export_images=export, extra_files={sbom.SBOM_NAME: raw})  # fmt: skip
    manifest = bundle.verify_bundle(out, public_key=vendor_key.public_key(), require_signature=True)
    assert sbom.SBOM_NAME in manifest.files
    bundle.extract_bundle(out, tmp_path / "unpacked", manifest)
    assert (tmp_path / "unpacked" / sbom.SBOM_NAME).read_bytes() == raw


def test_packages_are_read_inside_a_real_image() -> None:
    base = os.environ.get("FACTORYOS_BASE_IMAGE", "factoryos/debian:bookworm")
    try:
        client = docker.from_env(timeout=60)
        client.images.get(base)
    except docker.errors.DockerException:
        pytest.skip(f"no Docker engine with {base} here (scripts/docker/start-engine.sh makes one)")
    packages = {p.name: p for p in sbom.image_packages(client, base)}
    assert "dpkg" in packages and packages["libc6"].version
