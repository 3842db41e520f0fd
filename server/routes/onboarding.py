"""Onboarding: the company's setup wizard state, kept on the server so it resumes anywhere."""

from __future__ import annotations

from factoryos.identity.permissions import SIGNED_IN
from factoryos.onboarding import state
from factoryos.onboarding.models import OnboardingMove, OnboardingOut, StepUpdate
from factoryos.onboarding.steps import check_step
from server.api import Context, Router

router = Router(prefix="/api/v1/onboarding", tags=("onboarding",))

CHANGE = "admin.system"


@router.get("", permission=SIGNED_IN, response=OnboardingOut)
def get_onboarding(ctx: Context) -> OnboardingOut:
    """Where the company's setup wizard stands: the current step and each step's status."""
    return state.view(state.load(ctx.conn, ctx.tenant_id))


@router.put("", permission=CHANGE, body=OnboardingMove, response=OnboardingOut)
def move_onboarding(ctx: Context, body: OnboardingMove) -> OnboardingOut:
    """Move the wizard to a step; `complete` finishes the onboarding."""
    before, after = state.move(ctx.conn, ctx.tenant_id, ctx.user_id, body.current_step)
    ctx.audit("update", "onboarding", ctx.tenant_id, before=state.audit_view(before), after=state.audit_view(after))
    return state.view(after)


@router.post("/steps/{step}", permission=CHANGE, body=StepUpdate, response=OnboardingOut)
def record_onboarding_step(ctx: Context, step: str, body: StepUpdate) -> OnboardingOut:
    """Mark a step done or skipped (with small data, e.g. the imported file's name) and move on."""
    check_step(step)
    before, after = state.record(ctx.conn, ctx.tenant_id, ctx.user_id, step, body.status, body.data)
    ctx.audit("update", "onboarding", ctx.tenant_id, before=state.audit_view(before), after=state.audit_view(after))
    return state.view(after)
