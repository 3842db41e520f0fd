"""`factoryos uninstall [--keep-data]`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from installer import compose_render
from installer.errors import InstallError
from installer.layout import Layout
from installer.stack import Stack


def uninstall(directory: Path, *, keep_data: bool, docker_cli: str = "docker") -> list[str]:
    """Stop and remove the stack. keep_data keeps volumes, .env, TLS, license and backups,
    so a later install picks the same data and secrets up again."""
    layout = Layout(directory.resolve())
    if layout.read_state() is None and not layout.env_file.exists():
        raise InstallError(f"no FactoryOS installation in {layout.root}", code="not_installed")
    stack = Stack(layout.root, docker_cli=docker_cli)
    removed = ["containers"]
    if stack.compose_file.exists():
        stack.down(volumes=not keep_data)
    if keep_data:
        layout.state_file.unlink(missing_ok=True)
        return removed
    removed.append("volumes")
    # Database volumes point-in-time restores replaced (no longer in the compose file, so `down` kept them).
    labels = [f"--filter=label=com.docker.compose.project={stack.project}", "--filter=label=com.docker.compose.volume=pgdata"]
    aside = subprocess.run([docker_cli, "volume", "ls", "--quiet", *labels], capture_output=True, text=True, check=False)
    if aside.stdout.split():
        subprocess.run([docker_cli, "volume", "rm", "--force", *aside.stdout.split()], capture_output=True, check=False)
    # Every version of our images (upgrades and rollbacks leave older ones behind).
    filters = [f"--filter=reference={compose_render.image_tag(service, '*')}" for service in compose_render.SERVICES]
    listed = subprocess.run(
        [docker_cli, "image", "ls", "--quiet", *filters], capture_output=True, text=True, check=False
    )
    ids = sorted(set(listed.stdout.split()))
    if ids:
        subprocess.run([docker_cli, "image", "rm", "--force", *ids], capture_output=True, check=False)
    removed.append("images")
    shutil.rmtree(layout.root)
    removed.append(str(layout.root))
    return removed
