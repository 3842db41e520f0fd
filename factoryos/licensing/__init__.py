"""Signed license documents: issued by the vendor, verified offline on site."""

from factoryos.licensing.document import Edition, License, Limits
from factoryos.licensing.errors import LicenseError
from factoryos.licensing.gating import require_edition, require_room
from factoryos.licensing.verify import verify_license

__all__ = ["Edition", "License", "LicenseError", "Limits", "require_edition", "require_room", "verify_license"]
