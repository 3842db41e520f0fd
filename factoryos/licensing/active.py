"""The license a running server enforces, loaded once at start.

A license that is missing, expired or invalid never stops the server: it then runs
within the evaluation allowance (gating.UNLICENSED_LIMITS) and health says why.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from factoryos.licensing.document import License
from factoryos.licensing.errors import LicenseError
from factoryos.licensing.store import activate, default_license_path, load_active

if TYPE_CHECKING:
    from factoryos.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LicenseState:
    path: Path
    document: License | None = None
    problem: str | None = None  # why a license file that exists is not in force
    code: str | None = None

    def in_force(self, now: dt.datetime | None = None) -> License | None:
        """The license whose limits apply now; None ⇒ the evaluation allowance."""
        if self.document is None or self.document.expired(now or dt.datetime.now(dt.UTC)):
            return None
        return self.document

    def status(self, now: dt.datetime | None = None) -> str:
        if self.problem:
            return "invalid"
        if self.document is None:
            return "evaluation"
        return "licensed" if self.in_force(now) else "expired"


def load_license_state(settings: Settings) -> LicenseState:
    """`$FACTORYOS_LICENSE_FILE`, else `<data dir>/license.lic`; expired ones load for reporting."""
    path = default_license_path(settings)
    try:
        document = load_active(path, allow_expired=True)
    except LicenseError as exc:
        log.warning("license %s is not in force: %s", path, exc)
        return LicenseState(path, problem=str(exc), code=exc.code)
    except OSError as exc:
        log.warning("license %s cannot be read: %s", path, exc.strerror)
        return LicenseState(path, problem=f"{path} cannot be read: {exc.strerror}", code="license_unreadable")
    if document is None:
        log.info("no license at %s: running within the evaluation allowance", path)
    return LicenseState(path, document)


def activate_license(current: LicenseState, text: str) -> LicenseState:
    """Verify `text` like `factoryos license activate` and store it atomically where `current`
    was loaded from; the state to put in force. A bad key raises and changes nothing."""
    try:
        document = activate(text, current.path)
    except OSError as exc:
        raise LicenseError(f"the license file {current.path} cannot be written ({exc.strerror}); "
                           "nothing was changed", code="license_store_failed", status=500) from None
    log.info("license %s for %s activated (%s)", document.license_id, document.customer, current.path)
    return LicenseState(current.path, document)
