"""`factoryos bundle build|verify`: the offline bundle for air-gapped sites."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import docker
import docker.errors
import typer
from rich.markup import escape

from cli.output import console, fail, ok
from cli.steps import done, run_step
from factoryos.errors import FactoryOSError
from factoryos.licensing.keys import load_private_key, load_public_key
from installer import bundle as bundle_mod
from installer import compose_render, images, sbom, wheelhouse
from installer.errors import InstallError

app = typer.Typer(help="Build and verify offline bundles.", no_args_is_help=True)


@app.command()
def build(
    output: Annotated[Path, typer.Option("--output", "-o", help="Bundle file to write.")] = Path(
        "factoryos-bundle.tar"
    ),
    base_image: Annotated[
        str, typer.Option("--base-image", envvar="FACTORYOS_BASE_IMAGE", help="Local Debian base image (never pulled).")
    ] = "factoryos/debian:bookworm",
    wheels: Annotated[
        Path | None,
        typer.Option("--wheelhouse", help="Use this wheelhouse instead of building one.", file_okay=False, exists=True),
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            help="FactoryOS source checkout to bundle: its wheel, version and compose files "
            "(default: the running one).",
            file_okay=False,
            exists=True,
        ),
    ] = None,
    sign_key: Annotated[
        Path | None,
        typer.Option("--sign-key", help="Ed25519 private key (PEM) to sign the manifest.", dir_okay=False, exists=True),
    ] = None,
) -> None:
    """Build the images from the Debian base, then write images, compose files, wheelhouse and manifest."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        fail(escape(f"no Docker engine reachable: {exc}"))
    try:
        with tempfile.TemporaryDirectory(prefix="factoryos-wheels-") as scratch:
            house = wheels or Path(scratch)
            if wheels is None:
                run_step("Wheelhouse", lambda progress: wheelhouse.build_wheelhouse(house, project))
                done("Wheelhouse", f"{len(list(house.glob('*.whl')))} wheels")
            # The version, tags and compose files are the bundled project's, never this CLI's.
            version = bundle_mod.wheelhouse_version(house)
            compose = _compose_source(project)
            tags = run_step(
                "Images",
                lambda progress: images.build_images(
                    client, base_image=base_image, wheelhouse=house, version=version, compose_source=compose,
                    on_line=lambda service, line: progress(f"{service}: {line[:60]}"),
                ),
            )  # fmt: skip
            done("Images", ", ".join(tags))
            sbom_bytes = run_step("SBOM", lambda progress: sbom.build_sbom(
                version=version, wheelhouse=house, packages={tag: sbom.image_packages(client, tag) for tag in tags}))
            done("SBOM", f"{sbom.SBOM_NAME} (CycloneDX 1.5: the wheels and each image's Debian packages)")
            key = load_private_key(sign_key) if sign_key else None
            manifest = run_step(
                "Bundle",
                lambda progress: bundle_mod.build_bundle(
                    output, version=version, images=tags, base_image=base_image, wheelhouse=house, signing_key=key,
                    image_ids=images.image_ids(client, tags), compose_source=compose,
                    extra_files={sbom.SBOM_NAME: sbom_bytes},
                ),
            )  # fmt: skip
    except FactoryOSError as exc:
        fail(escape(str(exc)))
    finally:
        client.close()
    size = output.stat().st_size / 1024**2
    done("Bundle", f"{output}: FactoryOS {manifest.version} ({size:.0f} MiB, {len(manifest.files)} parts"
                   f"{', signed' if manifest.signed else ''})")  # fmt: skip
    if not manifest.signed:
        console.print("[bold red]! unsigned:[/] [red]sites install it only with --allow-unsigned; "
                      "sign with --sign-key vendor.pem[/]")  # fmt: skip


def _compose_source(project: Path | None) -> Path | None:
    if project is None:
        return None
    folder = project / "compose"
    if not (folder / compose_render.TEMPLATE_NAME).is_file():
        raise InstallError(f"{project} has no compose/{compose_render.TEMPLATE_NAME}: not a FactoryOS checkout",
                           code="project_missing")  # fmt: skip
    return folder


@app.command()
def verify(
    bundle: Annotated[Path, typer.Argument(help="Bundle file.", dir_okay=False)],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="Verify the signature with this key (default: the vendor's).",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    require_signature: Annotated[bool, typer.Option("--require-signature", help="Refuse unsigned bundles.")] = False,
) -> None:
    """Check every part of a bundle against its manifest (and its signature)."""
    try:
        manifest = bundle_mod.verify_bundle(
            bundle, public_key=load_public_key(public_key), require_signature=require_signature
        )
    except FactoryOSError as exc:
        fail(escape(str(exc)))
    signed = ", signature valid" if manifest.signed else ""
    ok(f"Bundle FactoryOS {manifest.version}: {len(manifest.files)} parts intact{signed}")
    if not manifest.signed:
        console.print("[bold red]! unsigned:[/] [red]nothing proves who built it; install and upgrade refuse it "
                      "unless given --allow-unsigned[/]")  # fmt: skip
    for tag in manifest.images:
        console.print(f"   image {tag} {manifest.image_ids.get(tag, '(no ID recorded)')}", highlight=False)
