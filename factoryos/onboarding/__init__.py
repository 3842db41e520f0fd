"""Onboarding: the wizard state of each company (which step it is on, what was done or skipped)."""

from factoryos.onboarding.steps import STEP_TITLES, STEPS, next_step

__all__ = ["STEPS", "STEP_TITLES", "next_step"]
