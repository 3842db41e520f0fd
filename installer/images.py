"""The three FactoryOS images, built from our Dockerfiles on top of a local Debian base."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

from installer.compose_render import SERVICES, compose_dir, image_tag
from installer.errors import InstallError

log = logging.getLogger(__name__)


def missing_images(client: docker.DockerClient, version: str) -> list[str]:
    missing = []
    for service in SERVICES:
        try:
            client.images.get(image_tag(service, version))
        except docker.errors.ImageNotFound:
            missing.append(image_tag(service, version))
    return missing


def build_images(
    client: docker.DockerClient,
    *,
    base_image: str,
    wheelhouse: Path,
    version: str,
    on_line: Callable[[str, str], None] = lambda service, line: None,
    compose_source: Path | None = None,
) -> list[str]:
    """Build every service image from `compose_source` (the project's compose/ folder; default
    this installation's); the base must already be in the engine (never pulled)."""
    try:
        client.images.get(base_image)
    except docker.errors.ImageNotFound:
        raise InstallError(
            f"base image {base_image} is not in the Docker engine; create it from a Debian rootfs "
            "(scripts/docker/start-engine.sh does: debootstrap + docker import)",
            code="base_image_missing",
        ) from None
    if not any(wheelhouse.glob("factoryos-*.whl")):
        raise InstallError(f"no factoryos wheel in {wheelhouse}", code="wheelhouse_incomplete")
    tags = []
    with tempfile.TemporaryDirectory(prefix="factoryos-build-") as scratch:
        for service in SERVICES:
            context = Path(scratch) / service
            shutil.copytree((compose_source or compose_dir()) / service, context)
            if service == "api":
                shutil.copytree(wheelhouse, context / "wheelhouse")
            tag = image_tag(service, version)
            _build(client, context, tag, base_image, lambda line, s=service: on_line(s, line))
            tags.append(tag)
    return tags


def _build(
    client: docker.DockerClient, context: Path, tag: str, base_image: str, on_line: Callable[[str], None]
) -> None:
    stream = client.api.build(
        path=str(context), tag=tag, buildargs={"BASE_IMAGE": base_image}, rm=True, forcerm=True, pull=False, decode=True
    )
    tail: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            raise InstallError(
                f"building {tag} failed: {chunk['error'].strip()}\n" + "".join(tail[-15:]), code="image_build_failed"
            )
        line = chunk.get("stream", "")
        if line:
            tail.append(line)
            on_line(line.rstrip())
    log.info("built %s", tag)


def image_ids(client: docker.DockerClient, tags: list[str]) -> dict[str, str]:
    return {tag: client.images.get(tag).id for tag in tags}
