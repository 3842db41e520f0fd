"""Vendor side: turn a license document into signed license text."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from factoryos.licensing import codec
from factoryos.licensing.document import License


def canonical_payload(document: License) -> bytes:
    return json.dumps(document.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()


def sign_license(document: License, private_key: Ed25519PrivateKey) -> str:
    payload = canonical_payload(document)
    return codec.encode(payload, private_key.sign(payload))
