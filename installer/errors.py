"""Installer failures: each names what went wrong and what to do, with a stable code."""

from __future__ import annotations

from factoryos.errors import FactoryOSError


class InstallError(FactoryOSError):
    code = "install_failed"
    status = 500
    title = "Installation failed"


class BundleError(InstallError):
    code = "bundle_invalid"
    title = "Offline bundle rejected"
