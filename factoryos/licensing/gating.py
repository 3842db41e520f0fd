"""What a license allows: edition order for features, and counted limits.

Without a license in force (none activated, expired, or invalid) the installation runs
as an evaluation of Core within an allowance sized for a pilot: the bundled demo (2 sites,
24 machines, 3 users) fits with room to try things, a whole factory does not. Counts
are per company (see usage.py).
"""

from __future__ import annotations

from typing import Literal

from factoryos.licensing.document import Edition, License, Limits
from factoryos.licensing.errors import LicenseError

UNLICENSED_LIMITS = Limits(machines=50, users=25, sites=10)
_ORDER = (Edition.CORE, Edition.ADVANCED, Edition.ENTERPRISE)
LimitKind = Literal["machines", "users", "sites"]


def edition_of(document: License | None) -> Edition:
    return document.edition if document else Edition.CORE


def limits_of(document: License | None) -> Limits:
    return document.limits if document else UNLICENSED_LIMITS


def require_edition(document: License | None, needed: Edition, feature: str) -> None:
    """Refuse `feature` unless the license's edition is `needed` or higher."""
    have = edition_of(document)
    if _ORDER.index(have) < _ORDER.index(needed):
        raise LicenseError(
            f"{feature} needs the {needed.value.title()} edition; this installation is licensed for "
            f"{have.value.title()}",
            code="license_edition",
        )


def require_module(document: License | None, needed: Edition, feature: str) -> None:
    """Refuse a module (quality, maintenance, materials, …) unless the license in force is of
    `needed` edition or higher. The evaluation (no license in force) includes every module, so a
    plant trying FactoryOS, and the demo, see all of them."""
    if document is None:
        return
    if _ORDER.index(document.edition) < _ORDER.index(needed):
        raise LicenseError(
            f"{feature} needs the {needed.value.title()} edition; this installation is licensed for "
            f"{document.edition.value.title()}",
            code="license_feature",
            extra={"edition_needed": needed.value, "feature": feature},
        )


def require_room(document: License | None, kind: LimitKind, current: int, adding: int = 1) -> None:
    """Refuse adding `adding` more `kind` when that would pass the licensed limit."""
    allowed = getattr(limits_of(document), kind)
    if current + adding > allowed:
        source = "the license" if document else "the evaluation (no license activated)"
        raise LicenseError(
            f"{source} allows {allowed} {kind}; {current} exist already: "
            "ask your FactoryOS vendor for a larger license",
            code="license_limit",
            extra={"kind": kind, "allowed": allowed, "current": current},
        )
