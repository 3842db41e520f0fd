"""The vendor's Ed25519 public key, shipped in the package; tests and private builds
point the verifier at another one with an argument or `FACTORYOS_LICENSE_PUBLIC_KEY`."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from factoryos.licensing.errors import LicenseError

# Read from the environment, not Settings: the verifier also runs in the installer and the
# vendor's tools, which have no server settings; only tests and private builds set it.
PUBLIC_KEY_ENV = "FACTORYOS_LICENSE_PUBLIC_KEY"
SHIPPED_PUBLIC_KEY = Path(__file__).with_name("vendor_public_key.pem")


def load_public_key(source: Path | bytes | None = None) -> Ed25519PublicKey:
    """From PEM bytes, a PEM file, `$FACTORYOS_LICENSE_PUBLIC_KEY` (a file) or the shipped key."""
    if source is None:
        source = Path(os.environ.get(PUBLIC_KEY_ENV) or SHIPPED_PUBLIC_KEY)
    pem = source.read_bytes() if isinstance(source, Path) else source
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise LicenseError("The license public key is not a PEM public key", code="license_key_invalid") from None
    if not isinstance(key, Ed25519PublicKey):
        raise LicenseError("The license public key is not an Ed25519 key", code="license_key_invalid")
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Vendor side only: the signing key lives outside the repository."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise LicenseError(f"{path} is not an Ed25519 private key", code="license_key_invalid")
    return key


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
