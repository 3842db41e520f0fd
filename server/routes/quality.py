"""Quality: inspection plans (versioned), due inspections, inspections at the terminal, SPC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from starlette.responses import StreamingResponse

from factoryos.licensing.document import Edition
from factoryos.quality import due, inspections, plans
from factoryos.quality.inspection_models import (
    DueList,
    DueQuery,
    InspectionIn,
    InspectionOut,
    InspectionPage,
    InspectionQuery,
    OverdueQuery,
    SpcOut,
    SpcQuery,
)
from factoryos.quality.plan_models import (
    NewVersionIn,
    PlanIn,
    PlanOut,
    PlanPage,
    PlanQuery,
    ReleaseIn,
    VersionIn,
    VersionOut,
)
from factoryos.quality.spc_data import spc_for
from factoryos.reports.builders.quality_query import QualityReportQuery
from factoryos.reports.builders.quality_report import build_quality_report
from server.api import Context, Router
from server.routes.reports import MEDIA_TYPES, _stream, _user_name
from server.routes.signatures import sign_record

router = Router(prefix="/api/v1", tags=("quality",))

INSPECT = "quality.inspect"
MANAGE = "quality.manage"
APPROVE = "quality.approve"
EXPORT = "reports.export"
QUALITY = ("Quality", Edition.ADVANCED)


def _version(ctx: Context, plan_id: UUID, version: int) -> VersionOut:
    return plans.get_version(ctx.conn, ctx.tenant_id, plan_id, version)


@router.get("/quality/plans", permission=INSPECT, query=PlanQuery, response=PlanPage, module=QUALITY)
def list_inspection_plans(ctx: Context, query: PlanQuery) -> PlanPage:
    """Inspection plans by name, filtered by product or machine; `q` searches the name."""
    return plans.list_plans(ctx.conn, ctx.tenant_id, query)


@router.post("/quality/plans", permission=MANAGE, body=PlanIn, response=PlanOut, status_code=201, module=QUALITY)
def create_inspection_plan(ctx: Context, body: PlanIn) -> PlanOut:
    """A plan for a product (optionally one operation), a machine, or both; version 1 is a draft."""
    plan_id = plans.create_plan(ctx.conn, ctx.tenant_id, ctx.user_id, body)
    out = plans.get_plan(ctx.conn, ctx.tenant_id, plan_id)
    version = plans.get_version(ctx.conn, ctx.tenant_id, plan_id, 1)
    ctx.audit("create", "inspection_plan", plan_id, after=out.model_dump(mode="json", exclude={"versions"}) | {
        "version": plans.version_content(ctx.conn, ctx.tenant_id, version.id)})
    return out


@router.get("/quality/plans/{plan_id:uuid}", permission=INSPECT, response=PlanOut, module=QUALITY)
def get_inspection_plan(ctx: Context, plan_id: UUID) -> PlanOut:
    """One plan with its versions."""
    return plans.get_plan(ctx.conn, ctx.tenant_id, plan_id)


@router.post("/quality/plans/{plan_id:uuid}/versions", permission=MANAGE, body=NewVersionIn,
             response=VersionOut, status_code=201, module=QUALITY)
def create_inspection_plan_version(ctx: Context, plan_id: UUID, body: NewVersionIn) -> VersionOut:
    """The next version, a draft: the content given, or a copy of the latest version."""
    number = plans.new_version(ctx.conn, ctx.tenant_id, ctx.user_id, plan_id, body.content)
    out = _version(ctx, plan_id, number)
    ctx.audit("create", "inspection_plan_version", out.id,
              after=plans.version_content(ctx.conn, ctx.tenant_id, out.id))
    return out


@router.get("/quality/plans/{plan_id:uuid}/versions/{version:int}", permission=INSPECT, response=VersionOut,
            module=QUALITY)
def get_inspection_plan_version(ctx: Context, plan_id: UUID, version: int) -> VersionOut:
    """One version with its characteristics and release signature."""
    return _version(ctx, plan_id, version)


@router.put("/quality/plans/{plan_id:uuid}/versions/{version:int}", permission=MANAGE, body=VersionIn,
            response=VersionOut, module=QUALITY)
def update_inspection_plan_version(ctx: Context, plan_id: UUID, version: int, body: VersionIn) -> VersionOut:
    """Replace a draft's content; a released version is refused (`plan_released`): make a new version."""
    before, after = plans.update_draft(ctx.conn, ctx.tenant_id, plan_id, version, body)
    out = _version(ctx, plan_id, version)
    if before != after:
        ctx.audit("update", "inspection_plan_version", out.id, before=before, after=after)
    return out


@router.post("/quality/plans/{plan_id:uuid}/versions/{version:int}/release", permission=APPROVE, body=ReleaseIn,
             response=VersionOut, module=QUALITY)
def release_inspection_plan_version(ctx: Context, plan_id: UUID, version: int, body: ReleaseIn) -> VersionOut:
    """Release a draft: it becomes the plan in force, frozen; the one before is superseded."""
    now = datetime.now(UTC)
    draft = plans.draft_to_release(ctx.conn, ctx.tenant_id, plan_id, version)
    # Signed first (a wrong password ends here); the signature covers the content, not the status.
    signed = sign_record(ctx, record_type=plans.RECORD_TYPE, record_id=draft["id"],
                         content=plans.version_content(ctx.conn, ctx.tenant_id, draft["id"]), body=body.signature,
                         forbid_signer=draft["created_by"] if draft["second_person"] else None)
    done, old = plans.release(ctx.conn, ctx.tenant_id, ctx.user_id, draft, now, signed.id, signed.content_hash)
    after = {"status": "released", "released_at": now.isoformat(), "content_hash": done["content_hash"],
             "signature_id": str(signed.id), "meaning": signed.meaning}
    if old is not None:
        after["superseded"] = {"id": str(old["id"]), "version": old["version"]}
    ctx.audit("update", "inspection_plan_version", done["id"], before={"status": "draft"}, after=after)
    return _version(ctx, plan_id, version)


# -- due inspections and inspections ----------------------------------------------------------


@router.get("/quality/due", permission=INSPECT, query=DueQuery, response=DueList, module=QUALITY)
def list_due_inspections(ctx: Context, query: DueQuery) -> DueList:
    """Inspections due on a machine now, from its plans and what it runs (first article, parts, time, shift)."""
    now = datetime.now(UTC)
    return DueList(at=now, items=due.due_on_machine(ctx.conn, ctx.tenant_id, query.machine_id, now))


@router.get("/quality/overdue", permission=INSPECT, query=OverdueQuery, response=DueList, module=QUALITY)
def list_overdue_inspections(ctx: Context, query: OverdueQuery) -> DueList:
    """Overdue inspections on every machine of the company (or one site), for the dashboard."""
    now = datetime.now(UTC)
    return DueList(at=now, items=due.overdue(ctx.conn, ctx.tenant_id, now, query.site_id))


@router.post("/inspections", permission=INSPECT, body=InspectionIn, response=InspectionOut, status_code=201,
             module=QUALITY)
def record_inspection(ctx: Context, body: InspectionIn) -> InspectionOut:
    """Record an inspection against the plan's released version; out-of-specification results are flagged."""
    assert ctx.principal is not None
    inspection_id = inspections.record(ctx.conn, ctx.tenant_id, ctx.user_id, ctx.principal.role, body,
                                       datetime.now(UTC))
    out = inspections.get_inspection(ctx.conn, ctx.tenant_id, inspection_id)
    ctx.audit("create", "inspection", inspection_id, after=inspections.audit_after(out))
    return out


@router.get("/inspections", permission=INSPECT, query=InspectionQuery, response=InspectionPage, module=QUALITY)
def list_inspections(ctx: Context, query: InspectionQuery) -> InspectionPage:
    """Inspections, newest first, by machine, plan, product, result or period."""
    return inspections.list_inspections(ctx.conn, ctx.tenant_id, query)


@router.get("/inspections/{inspection_id:uuid}", permission=INSPECT, response=InspectionOut, module=QUALITY)
def get_inspection(ctx: Context, inspection_id: UUID) -> InspectionOut:
    """One inspection with each characteristic's values and flags."""
    return inspections.get_inspection(ctx.conn, ctx.tenant_id, inspection_id)


@router.get("/quality/spc", permission=INSPECT, query=SpcQuery, response=SpcOut, module=QUALITY)
def get_spc(ctx: Context, query: SpcQuery) -> SpcOut:
    """X̄-R (or I-MR) chart of a measured characteristic with rule violations and Cp/Cpk, Pp/Ppk."""
    start = inspections._aware(query.from_, "from") if query.from_ is not None else None
    end = inspections._aware(query.to, "to") if query.to is not None else None
    return spc_for(ctx.conn, ctx.tenant_id, query.characteristic_id, start, end, query.limit)


# -- the quality report ------------------------------------------------------------------------


@router.get("/reports/quality", permission=EXPORT, query=QualityReportQuery, response_media_types=MEDIA_TYPES,
            long_running=True, module=QUALITY)
def report_quality(ctx: Context, query: QualityReportQuery) -> StreamingResponse:
    """One product over a period: inspections, out-of-spec rate, control charts, capability, rejects."""
    now = datetime.now(UTC)
    report = build_quality_report(ctx.conn, ctx.tenant_id, product=query.product, start=query.from_, end=query.to,
                                  generated_by=_user_name(ctx), now=now)

    def audit(size: int) -> tuple[str, dict[str, Any]]:
        return "quality", {"topic": "quality", "format": query.format.value, "product": report.product_number,
                           "from": query.from_.isoformat(), "to": query.to.isoformat(), "bytes": size}

    return _stream(ctx, report.document, query.format, report.filename(query.format), audit)
