"""The company's onboarding wizard state, kept on the server so it resumes on any terminal."""

from __future__ import annotations

from typing import Any

from factoryos.client.transport import Transport
from factoryos.onboarding.models import OnboardingOut


class OnboardingApi:
    t: Transport

    async def onboarding(self) -> OnboardingOut:
        return await self.t.get("/onboarding", OnboardingOut)

    async def move_onboarding(self, step: str) -> OnboardingOut:
        """Put the wizard on `step` (where it resumes); `complete` finishes the onboarding."""
        return await self.t.send("PUT", "/onboarding", OnboardingOut, json={"current_step": step})

    async def record_onboarding_step(self, step: str, status: str, data: dict[str, Any] | None = None) -> OnboardingOut:
        """Mark `step` done or skipped (the wizard moves on to the next step)."""
        return await self.t.send("POST", f"/onboarding/steps/{step}", OnboardingOut,
                                 json={"status": status, "data": data or {}})
