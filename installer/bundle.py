"""Offline bundle: one tar with the images, the compose files, a wheelhouse and a manifest
holding the SHA-256 of every part and the ID of every image, signed with the vendor's Ed25519
key (install and upgrade refuse an unsigned bundle unless told to accept one).

Built on a connected machine; on an air-gapped site it is verified part by part before
anything is loaded, so a damaged copy is refused with the name of the damaged part.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

import docker
import docker.errors

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from installer.compose_render import compose_dir
from installer.errors import BundleError, InstallError

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
IMAGES = "images.tar"
FORMAT = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Manifest:
    version: str
    created_at: str
    base_image: str
    images: list[str]
    files: dict[str, dict[str, int | str]]
    signed: bool = False
    # tag → image ID (the config's sha256, the same before `docker save` and after `docker load`)
    image_ids: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> bytes:
        body = {
            "format": FORMAT,
            "product": "factoryos",
            "version": self.version,
            "created_at": self.created_at,
            "base_image": self.base_image,
            "images": self.images,
            "image_ids": self.image_ids,
            "files": self.files,
        }
        return json.dumps(body, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes, signed: bool) -> Manifest:
        try:
            body = json.loads(raw)
            if body.get("product") != "factoryos" or body.get("format") != FORMAT:
                raise ValueError("not a FactoryOS bundle manifest of a known format")
            return cls(
                body["version"], body["created_at"], body["base_image"], list(body["images"]), body["files"], signed,
                dict(body.get("image_ids") or {}),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BundleError(f"the bundle manifest is unreadable: {exc}", code="bundle_manifest_invalid") from None


def sha256_of(stream: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def build_bundle(
    output: Path,
    *,
    version: str,
    images: Sequence[str],
    base_image: str,
    wheelhouse: Path,
    signing_key: Ed25519PrivateKey | None = None,
    export_images: Callable[[Path, Sequence[str]], None] | None = None,
    image_ids: Mapping[str, str] | None = None,
    compose_source: Path | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> Manifest:
    """Write the bundle to `output` atomically (a failed build leaves no partial file).

    `export_images(path, tags)` writes the image archive; default `docker save`. `image_ids`
    maps each tag to its image ID; `compose_source` is the compose/ folder of the project built;
    `extra_files` (name → bytes, e.g. the SBOM) are listed and hashed like every other part.
    """
    unknown = sorted(set(images) - set(image_ids or {}))
    if image_ids is not None and unknown:
        raise BundleError(f"no image ID for {', '.join(unknown)}", code="bundle_image_ids")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=output.parent) as scratch:
        stage = Path(scratch) / "stage"
        stage.mkdir()
        (export_images or save_images)(stage / IMAGES, images)
        compose = compose_source or compose_dir()
        shutil.copytree(compose, stage / "compose", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(wheelhouse, stage / "wheelhouse")
        for name, data in (extra_files or {}).items():
            (stage / name).write_bytes(data)
        files = {}
        for path in sorted(p for p in stage.rglob("*") if p.is_file()):
            with path.open("rb") as handle:
                digest, size = sha256_of(handle)
            files[path.relative_to(stage).as_posix()] = {"sha256": digest, "size": size}
        manifest = Manifest(
            version=version,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            base_image=base_image,
            images=list(images),
            files=files,
            signed=signing_key is not None,
            image_ids={tag: (image_ids or {})[tag] for tag in images if tag in (image_ids or {})},
        )
        raw = manifest.to_json()
        (stage / MANIFEST).write_bytes(raw)
        if signing_key is not None:
            (stage / SIGNATURE).write_bytes(signing_key.sign(raw))
        partial = Path(scratch) / "bundle.tar"
        with tarfile.open(partial, "w") as archive:
            archive.add(stage / MANIFEST, MANIFEST)
            if signing_key is not None:
                archive.add(stage / SIGNATURE, SIGNATURE)
            for name in files:
                archive.add(stage / name, name, recursive=False)
        partial.replace(output)
    return manifest


def _check_manifest(
    raw: bytes, signature: bytes | None, public_key: Ed25519PublicKey | None, require: bool
) -> Manifest:
    if signature is None:
        if require:
            raise BundleError("the bundle is not signed, and a signed bundle is required", code="bundle_unsigned")
        return Manifest.from_json(raw, signed=False)
    if public_key is not None:
        try:
            public_key.verify(signature, raw)
        except InvalidSignature:
            raise BundleError(
                "the bundle signature does not match its manifest: it was altered or not built by the vendor",
                code="bundle_signature_invalid",
            ) from None
    return Manifest.from_json(raw, signed=public_key is not None)


def _compare(manifest: Manifest, found: dict[str, tuple[str, int]]) -> None:
    for name, expected in manifest.files.items():
        if name not in found:
            raise BundleError(f"bundle part {name} is missing: copy the bundle again", code="bundle_incomplete")
        digest, size = found[name]
        if digest != expected["sha256"]:
            raise BundleError(
                f"bundle part {name} is corrupted: SHA-256 {digest[:16]}… does not match the manifest's "
                f"{str(expected['sha256'])[:16]}… ({size} of {expected['size']} bytes); copy the bundle again",
                code="bundle_checksum",
            )
    extra = sorted(set(found) - set(manifest.files))
    if extra:
        raise BundleError(
            f"bundle holds parts its manifest does not list: {', '.join(extra[:5])}", code="bundle_unexpected"
        )


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:")
    except FileNotFoundError:
        raise BundleError(f"bundle {path} does not exist", code="bundle_missing") from None
    except tarfile.TarError:
        raise BundleError(f"{path} is not a FactoryOS bundle (not a tar archive)", code="bundle_invalid") from None


def _members(archive: tarfile.TarFile) -> Iterable[tarfile.TarInfo]:
    try:
        yield from archive
    except (tarfile.TarError, EOFError, OSError):
        raise BundleError("the bundle is truncated or damaged: copy it again", code="bundle_truncated") from None


def verify_bundle(
    path: Path, *, public_key: Ed25519PublicKey | None = None, require_signature: bool = False
) -> Manifest:
    """Check every part against the manifest without extracting anything."""
    with _open(path) as archive:
        raw: bytes | None = None
        signature: bytes | None = None
        found: dict[str, tuple[str, int]] = {}
        for member in _members(archive):
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            assert handle is not None
            try:
                if member.name == MANIFEST:
                    raw = handle.read()
                elif member.name == SIGNATURE:
                    signature = handle.read()
                else:
                    found[member.name] = sha256_of(handle)
            except (tarfile.TarError, EOFError, OSError):
                raise BundleError(
                    "the bundle is truncated or damaged: copy it again", code="bundle_truncated"
                ) from None
        if raw is None:
            raise BundleError(f"{path} has no manifest.json: not a FactoryOS bundle", code="bundle_invalid")
    manifest = _check_manifest(raw, signature, public_key, require_signature)
    _compare(manifest, found)
    return manifest


def extract_bundle(
    path: Path, destination: Path, manifest: Manifest | None = None, **verify_options: object
) -> Manifest:
    """Unpack the manifest's parts into `destination`, checking each part's SHA-256 as it is
    written. Without `manifest` the bundle is verified first, so nothing is written from a bad copy."""
    if manifest is None:
        manifest = verify_bundle(path, **verify_options)  # type: ignore[arg-type]
    destination.mkdir(parents=True, exist_ok=True)
    with _open(path) as archive:
        for member in _members(archive):
            expected = manifest.files.get(member.name)
            if expected is None or not member.isfile():
                continue
            relative = PurePosixPath(member.name)
            if relative.is_absolute() or ".." in relative.parts:
                raise BundleError(f"bundle part {member.name} has an unsafe path", code="bundle_invalid")
            target = destination.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            digest = hashlib.sha256()
            try:
                with target.open("wb") as sink:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        sink.write(chunk)
            except (tarfile.TarError, EOFError) as exc:
                raise BundleError(f"unpacking the bundle failed: {exc}", code="bundle_truncated") from None
            except OSError as exc:
                raise BundleError(f"unpacking {member.name} into {destination} failed: {exc.strerror}",
                                  code="bundle_unpack_failed") from None  # fmt: skip
            if digest.hexdigest() != expected["sha256"]:
                raise BundleError(f"bundle part {member.name} changed while it was unpacked: copy the bundle again",
                                  code="bundle_checksum")  # fmt: skip
    return manifest


def check_loaded_images(client: docker.DockerClient, manifest: Manifest, *, allow_unrecorded: bool) -> None:
    """The engine now holds, under each tag, the very image the manifest names."""
    for tag in manifest.images:
        expected = manifest.image_ids.get(tag)
        if expected is None:
            if allow_unrecorded:
                continue
            raise BundleError(f"the bundle manifest records no image ID for {tag}: rebuild the bundle",
                              code="bundle_image_ids")  # fmt: skip
        try:
            found = client.images.get(tag).id
        except docker.errors.ImageNotFound:
            raise BundleError(f"{tag} is not in the engine after loading the bundle", code="image_missing") from None
        if found != expected:
            raise BundleError(f"{tag} was loaded as image {found[:19]}, the manifest names {expected[:19]}: "
                              "the bundle's images were replaced", code="bundle_image_mismatch")  # fmt: skip


_WHEEL = re.compile(r"^factoryos-([^-]+)-")


def wheelhouse_version(wheelhouse: Path) -> str:
    """The FactoryOS version a wheelhouse installs: that of its factoryos wheel."""
    versions = sorted({m.group(1) for p in wheelhouse.glob("factoryos-*.whl") if (m := _WHEEL.match(p.name))})
    if len(versions) != 1:
        raise InstallError(f"{wheelhouse} must hold exactly one factoryos wheel, found {len(versions)}",
                           code="wheelhouse_incomplete")  # fmt: skip
    return versions[0]


def save_images(path: Path, images: Sequence[str], docker_cli: str = "docker") -> None:
    """One archive for all images, so the layers they share are stored once."""
    run = subprocess.run([docker_cli, "save", "-o", str(path), *images], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise InstallError(f"docker save failed: {run.stderr.strip()}", code="image_save_failed")


def load_images(images_tar: Path, docker_cli: str = "docker") -> None:
    run = subprocess.run([docker_cli, "load", "-i", str(images_tar)], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise InstallError(f"docker load failed: {run.stderr.strip()}", code="image_load_failed")
