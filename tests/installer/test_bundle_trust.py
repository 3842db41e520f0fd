"""Bundles an admin can trust: signed unless --allow-unsigned (said in red), image IDs recorded
and checked after loading, upgrade verifies before dumping and refuses a bundle that is not newer."""

from __future__ import annotations

import tarfile
from collections.abc import Sequence
from pathlib import Path

import docker
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cli.install import _run_steps
from cli.output import console
from factoryos.licensing.keys import PUBLIC_KEY_ENV, public_pem
from installer import bundle
from installer.checks import Requirements
from installer.deploy import AdminAccount, Installer, InstallOptions
from installer.errors import BundleError, InstallError
from installer.upgrade import Upgrader

LAX = Requirements(min_cpus=1, min_ram_bytes=1, min_disk_bytes=1, min_kernel=(2, 6))
OWNER = AdminAccount(email="owner@acme.example", company="Acme Metal", city="Porto")
IMAGES = ["factoryos/postgres:2.0.0", "factoryos/api:2.0.0", "factoryos/nginx:2.0.0"]
IDS = {tag: "sha256:" + f"{n:x}" * 64 for n, tag in enumerate(IMAGES, start=10)}


def _progress(message: str, fraction: float | None = None) -> None:
    pass


def _export(path: Path, tags: Sequence[str]) -> None:
    path.write_bytes(b"".join(tag.encode() * 512 for tag in tags))  # stands in for `docker save`


def _bundle(tmp_path: Path, version: str = "2.0.0", key: Ed25519PrivateKey | None = None, ids=IDS) -> Path:
    house = tmp_path / f"wheels-{version}"
    house.mkdir(exist_ok=True)
    (house / f"factoryos-{version}-py3-none-any.whl").write_bytes(b"PK")
    out = tmp_path / f"bundle-{version}-{'signed' if key else 'unsigned'}.tar"
    images = [tag.replace("2.0.0", version) for tag in IMAGES]
    bundle.build_bundle(out, version=version, images=images, base_image="factoryos/debian:bookworm",
                        wheelhouse=house, signing_key=key, export_images=_export,
                        image_ids=None if ids is None else {t.replace("2.0.0", version): i
                                                            for t, i in ids.items()})  # fmt: skip
    return out


@pytest.fixture
def trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vendor_key: Ed25519PrivateKey) -> Ed25519PrivateKey:
    """The installer trusts the tests' vendor key, as a site trusts the shipped one."""
    pem = tmp_path / "vendor-public.pem"
    pem.write_bytes(public_pem(vendor_key))
    monkeypatch.setenv(PUBLIC_KEY_ENV, str(pem))
    return vendor_key


def _installer(tmp_path: Path, docker_api, cls=Installer, **options: object) -> Installer:
    opts = InstallOptions(directory=tmp_path / "factoryos", bind="127.0.0.1", requirements=LAX, admin=OWNER,
                          **options)  # type: ignore[arg-type]
    return cls(opts, client_factory=lambda: docker.DockerClient(base_url=docker_api.url, timeout=5))


def test_the_manifest_records_each_images_id(tmp_path: Path, trusted) -> None:
    manifest = bundle.verify_bundle(_bundle(tmp_path, key=trusted), public_key=trusted.public_key())
    assert manifest.signed and manifest.image_ids == IDS
    with pytest.raises(BundleError, match="no image ID for factoryos/nginx"):
        bundle.build_bundle(tmp_path / "x.tar", version="2.0.0", images=IMAGES, base_image="b",
                            wheelhouse=tmp_path, export_images=_export,
                            image_ids={t: i for t, i in IDS.items() if "nginx" not in t})  # fmt: skip
    assert not (tmp_path / "x.tar").exists()
    assert bundle.wheelhouse_version(tmp_path / "wheels-2.0.0") == "2.0.0"


def test_an_unsigned_bundle_is_refused_before_anything_is_written(tmp_path: Path, docker_api, trusted) -> None:
    installer = _installer(tmp_path, docker_api, bundle=_bundle(tmp_path))
    with pytest.raises(BundleError, match="not signed") as caught:
        installer.verify_bundle(_progress)
    assert caught.value.code == "bundle_unsigned"
    assert installer.rollback() == [] and not installer.layout.root.exists()


def test_allow_unsigned_accepts_it_and_says_so_in_red(tmp_path: Path, docker_api, trusted) -> None:
    installer = _installer(tmp_path, docker_api, bundle=_bundle(tmp_path), allow_unsigned=True)
    bundle_step = next(step for step in installer.steps() if step.title == "Bundle")
    installer.steps = lambda: [bundle_step]  # type: ignore[method-assign]  # only that step: no engine here
    with console.capture() as out:
        _run_steps(installer, "installer")
    text = out.get()
    assert "UNSIGNED, accepted by --allow-unsigned" in text
    assert "not signed: nothing proves that the vendor built it" in text


def test_a_bundle_from_another_key_is_refused_even_with_allow_unsigned(tmp_path: Path, docker_api, trusted) -> None:
    stranger = _bundle(tmp_path, key=Ed25519PrivateKey.generate())
    installer = _installer(tmp_path, docker_api, bundle=stranger, allow_unsigned=True)
    with pytest.raises(BundleError, match="signature does not match"):
        installer.verify_bundle(_progress)


def test_a_signed_bundle_without_image_ids_is_refused(tmp_path: Path, docker_api, trusted) -> None:
    installer = _installer(tmp_path, docker_api, bundle=_bundle(tmp_path, key=trusted, ids=None))
    with pytest.raises(BundleError, match="records no image IDs") as caught:
        installer.verify_bundle(_progress)
    assert caught.value.code == "bundle_image_ids"


def test_loaded_images_are_checked_against_the_manifest(tmp_path: Path, docker_api, trusted) -> None:
    manifest = bundle.verify_bundle(_bundle(tmp_path, key=trusted), public_key=trusted.public_key())
    client = docker.DockerClient(base_url=docker_api.url, timeout=5)
    docker_api.images = dict(IDS)
    bundle.check_loaded_images(client, manifest, allow_unrecorded=False)
    docker_api.images["factoryos/api:2.0.0"] = "sha256:" + "e" * 64  # a different image under that tag
    with pytest.raises(BundleError, match="factoryos/api:2.0.0 was loaded as image sha256:eeee") as caught:
        bundle.check_loaded_images(client, manifest, allow_unrecorded=False)
    assert caught.value.code == "bundle_image_mismatch"


def test_a_part_changed_after_verification_is_caught_while_unpacking(tmp_path: Path, trusted) -> None:
    path = _bundle(tmp_path, key=trusted)
    manifest = bundle.verify_bundle(path, public_key=trusted.public_key())
    with tarfile.open(path) as archive:
        offset = archive.getmember("images.tar").offset_data
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(b"EVIL")
    with pytest.raises(BundleError, match="images.tar changed while it was unpacked") as caught:
        bundle.extract_bundle(path, tmp_path / "unpacked", manifest)
    assert caught.value.code == "bundle_checksum"


def _installed(tmp_path: Path, version: str) -> None:
    root = tmp_path / "factoryos"
    root.mkdir()
    (root / "install.json").write_text(f'{{"version": "{version}", "bind_ip": "127.0.0.1", "https_port": 443}}')
    (root / "admin-credentials.txt").write_text("x")


def test_upgrade_verifies_the_bundle_before_its_backup(tmp_path: Path, docker_api, trusted) -> None:
    _installed(tmp_path, "2.0.0")
    unsigned = _installer(tmp_path, docker_api, Upgrader, bundle=_bundle(tmp_path, "2.1.0"))
    assert [s.title for s in unsigned.steps()][:4] == ["System check", "Bundle", "Backup", "Images"]
    with pytest.raises(BundleError, match="not signed"):
        unsigned.verify_bundle(_progress)
    assert not unsigned.layout.backups_dir.exists()  # no stray dump: the Backup step never ran


@pytest.mark.parametrize("version", ["2.0.0", "1.9.3"])
def test_upgrade_refuses_a_bundle_that_is_not_newer(tmp_path: Path, docker_api, trusted, version: str) -> None:
    _installed(tmp_path, "2.0.0")
    same = _installer(tmp_path, docker_api, Upgrader, bundle=_bundle(tmp_path, version, key=trusted))
    with pytest.raises(InstallError, match=f"FactoryOS {version}, .*--force") as caught:
        same.verify_bundle(_progress)
    assert caught.value.code == "upgrade_not_newer"
    forced = _installer(tmp_path, docker_api, Upgrader, bundle=_bundle(tmp_path, version, key=trusted), force=True)
    assert "signed by the vendor" in forced.verify_bundle(_progress)
    newer = _installer(tmp_path, docker_api, Upgrader, bundle=_bundle(tmp_path, "2.0.1", key=trusted))
    assert newer.verify_bundle(_progress).startswith("FactoryOS 2.0.1")
