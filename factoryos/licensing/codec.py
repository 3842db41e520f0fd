"""License text form: `FOS1.<payload>.<signature>`, both base64url without padding.

The same text is the license key a user pastes and the content of a license file; a
file may wrap it in comment lines starting with `#`.
"""

from __future__ import annotations

import base64
import binascii

from factoryos.licensing.errors import LicenseError

PREFIX = "FOS1"


def encode(payload: bytes, signature: bytes) -> str:
    return ".".join((PREFIX, _b64(payload), _b64(signature)))


def decode(text: str) -> tuple[bytes, bytes]:
    """Split license text into (payload, signature); refuses anything malformed."""
    lines = [line.strip() for line in text.splitlines()]
    body = "".join(line for line in lines if line and not line.startswith("#"))
    parts = body.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise LicenseError(
            "This is not a FactoryOS license key: it should look like FOS1.xxxx.yyyy",
            code="license_malformed",
        )
    try:
        return _unb64(parts[1]), _unb64(parts[2])
    except (binascii.Error, ValueError):
        raise LicenseError(
            "The license key is damaged (not valid base64); copy it again in full",
            code="license_malformed",
        ) from None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    # validate=True: stray characters are an error, not silently dropped.
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
