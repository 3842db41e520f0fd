"""Offline verification: signature, format, expiry and host binding, in that order."""

from __future__ import annotations

import datetime as dt
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from factoryos.licensing import codec
from factoryos.licensing.document import License
from factoryos.licensing.errors import LicenseError
from factoryos.licensing.hostid import host_id as current_host_id
from factoryos.licensing.keys import load_public_key


def verify_license(
    text: str,
    *,
    public_key: Ed25519PublicKey | None = None,
    now: dt.datetime | None = None,
    host_id: str | None = None,
    allow_expired: bool = False,
) -> License:
    """Return the license if `text` is genuine, current and meant for this host."""
    payload, signature = codec.decode(text)
    key = public_key or load_public_key()
    try:
        key.verify(signature, payload)
    except InvalidSignature:
        raise LicenseError(
            "The license signature does not match: the key was altered or not issued by FactoryOS",
            code="license_signature_invalid",
        ) from None
    try:
        document = License.model_validate(json.loads(payload))
    except (ValueError, ValidationError):
        raise LicenseError(
            "The license is signed but its content is not a license this version understands; "
            "upgrade FactoryOS or ask the vendor for a new key",
            code="license_malformed",
        ) from None
    moment = now or dt.datetime.now(dt.UTC)
    if document.expired(moment) and not allow_expired:
        raise LicenseError(
            f"The license of {document.customer} expired on {document.expires_at:%Y-%m-%d}; "
            "ask your FactoryOS vendor for a renewal",
            code="license_expired",
        )
    if document.host_id is not None and document.host_id != (host_id or current_host_id()):
        raise LicenseError(
            f"This license is bound to another host (host id {document.host_id}); this host's id "
            f"is {host_id or current_host_id()}: ask the vendor to re-issue it for this host",
            code="license_wrong_host",
        )
    return document
