"""Checks the provider settings of several protocols share (OpenID Connect, SAML)."""

from __future__ import annotations

import ssl


def http_url(value: str | None) -> str | None:
    """An http(s) URL as typed; anything else is refused (the caller strips what it needs)."""
    if value is not None and not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an https:// URL")
    return value


def pem_bundle(value: str | None) -> str | None:
    """PEM CA certificates that load (None for blank), else refused in words an admin can act on."""
    if value is None or not value.strip():
        return None
    try:
        ssl.create_default_context(cadata=value)
    except (ssl.SSLError, ValueError):
        raise ValueError("not PEM certificates (-----BEGIN CERTIFICATE----- …)") from None
    return value
