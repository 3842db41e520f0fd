"""Offline bundle: manifest checksums, signature, and clear errors on damaged copies."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from installer import bundle
from installer.errors import BundleError

IMAGES = ["factoryos/postgres:9.9.9", "factoryos/api:9.9.9", "factoryos/nginx:9.9.9"]


def _export(path: Path, tags: Sequence[str]) -> None:
    # Stands in for `docker save`: any archive; what matters here is its checksum.
    path.write_bytes(b"".join(tag.encode() * 4096 for tag in tags))


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheels"
    house.mkdir()
    (house / "factoryos-9.9.9-py3-none-any.whl").write_bytes(b"PK wheel bytes")
    return house


def _build(tmp_path: Path, wheelhouse: Path, key: Ed25519PrivateKey | None = None) -> Path:
    out = tmp_path / "out" / "bundle.tar"
    bundle.build_bundle(
        out, version="9.9.9", images=IMAGES, base_image="factoryos/debian:bookworm",
        wheelhouse=wheelhouse, signing_key=key, export_images=_export,
    )  # fmt: skip
    return out


def test_build_then_verify_and_extract(tmp_path: Path, wheelhouse: Path) -> None:
    path = _build(tmp_path, wheelhouse)
    assert [p.name for p in path.parent.iterdir()] == ["bundle.tar"]  # no staging left behind
    manifest = bundle.verify_bundle(path)
    assert manifest.version == "9.9.9" and manifest.images == IMAGES and not manifest.signed
    assert {"images.tar", "compose/docker-compose.yml.tmpl", "compose/api/Dockerfile",
            "wheelhouse/factoryos-9.9.9-py3-none-any.whl"} <= set(manifest.files)  # fmt: skip
    target = tmp_path / "unpacked"
    bundle.extract_bundle(path, target)
    assert (target / "images.tar").read_bytes().startswith(b"factoryos/postgres")
    assert not (target / bundle.MANIFEST).exists()


def _rewrite_member(path: Path, name: str, data: bytes) -> None:
    """Replace one member's bytes in place, as a bad copy would (same size, other content)."""
    with tarfile.open(path) as archive:
        member = archive.getmember(name)
        offset = member.offset_data
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def test_corrupted_part_is_named(tmp_path: Path, wheelhouse: Path) -> None:
    path = _build(tmp_path, wheelhouse)
    _rewrite_member(path, "images.tar", b"XXXX")
    with pytest.raises(
        BundleError, match=r"bundle part images.tar is corrupted: SHA-256 .* copy the bundle again"
    ) as caught:
        bundle.verify_bundle(path)
    assert caught.value.code == "bundle_checksum"
    target = tmp_path / "never"
    with pytest.raises(BundleError):
        bundle.extract_bundle(path, target)
    assert not target.exists()


def test_truncated_bundle(tmp_path: Path, wheelhouse: Path) -> None:
    path = _build(tmp_path, wheelhouse)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="truncated or damaged|corrupted|missing") as caught:
        bundle.verify_bundle(path)
    assert caught.value.code in {"bundle_truncated", "bundle_checksum", "bundle_incomplete"}


def test_not_a_bundle(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"hello" * 100)
    with pytest.raises(BundleError, match="not a FactoryOS bundle"):
        bundle.verify_bundle(junk)
    with pytest.raises(BundleError, match="does not exist"):
        bundle.verify_bundle(tmp_path / "absent.tar")
    plain = tmp_path / "plain.tar"
    with tarfile.open(plain, "w") as archive:
        archive.add(junk, "junk")
    with pytest.raises(BundleError, match="no manifest.json"):
        bundle.verify_bundle(plain)


def test_signature(tmp_path: Path, wheelhouse: Path, vendor_key: Ed25519PrivateKey) -> None:
    path = _build(tmp_path, wheelhouse, vendor_key)
    assert bundle.verify_bundle(path, public_key=vendor_key.public_key(), require_signature=True).signed
    with pytest.raises(BundleError, match="signature does not match") as caught:
        bundle.verify_bundle(path, public_key=Ed25519PrivateKey.generate().public_key())
    assert caught.value.code == "bundle_signature_invalid"
    unsigned = _build(tmp_path / "u", wheelhouse)
    with pytest.raises(BundleError, match="not signed"):
        bundle.verify_bundle(unsigned, require_signature=True)


def test_manifest_edit_breaks_the_signature(tmp_path: Path, wheelhouse: Path, vendor_key: Ed25519PrivateKey) -> None:
    path = _build(tmp_path, wheelhouse, vendor_key)
    with tarfile.open(path) as archive:
        raw = archive.extractfile(bundle.MANIFEST).read()  # type: ignore[union-attr]
    edited = json.dumps({**json.loads(raw), "version": "9.9.8"}, indent=2, sort_keys=True).encode()
    assert len(edited) == len(raw)
    _rewrite_member(path, bundle.MANIFEST, edited)
    with pytest.raises(BundleError, match="signature does not match"):
        bundle.verify_bundle(path, public_key=vendor_key.public_key())
