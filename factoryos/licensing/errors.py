"""License failures, each with a stable code the CLI and the server report."""

from __future__ import annotations

from factoryos.errors import FactoryOSError


class LicenseError(FactoryOSError):
    code = "license_invalid"
    status = 403
    title = "License problem"
