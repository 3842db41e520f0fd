"""The wizard's steps, in order; the names are part of the API."""

from __future__ import annotations

from typing import Literal

from factoryos.errors import ValidationFailed

StepName = Literal["connect_erp", "import_jobs", "configure_machines", "setup_roles", "invite_team", "complete"]

STEPS: tuple[str, ...] = ("connect_erp", "import_jobs", "configure_machines", "setup_roles", "invite_team", "complete")
FIRST, LAST = STEPS[0], STEPS[-1]

STEP_TITLES: dict[str, str] = {
    "connect_erp": "Connect ERP",
    "import_jobs": "Import Jobs",
    "configure_machines": "Configure Machines",
    "setup_roles": "Set Up Roles",
    "invite_team": "Invite Team",
    "complete": "Complete",
}


def check_step(name: str, field: str = "step") -> str:
    """A known step name, or a 422 naming `field` and listing the steps."""
    if name not in STEPS:
        raise ValidationFailed(
            f"unknown onboarding step {name[:40]!r}: one of {', '.join(STEPS)}",
            code="unknown_step",
            field=field,
            extra={"known": list(STEPS)},
        )
    return name


def next_step(name: str) -> str:
    """The step after `name` (the last one stays)."""
    index = STEPS.index(name)
    return STEPS[min(index + 1, len(STEPS) - 1)]
