"""The running shift's OEE of a site at one instant, kept with the site's live snapshot.

Computed with the live view from the same rows (the live view's per-machine KPIs are these
totals divided), so dashboards asking `/kpis/oee?shift=running` for the site, a line or a
machine share one computation per site and period instead of one per request. It holds every
machine of the site, retired ones too, as every OEE report does; the live view shows only
active ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from factoryos.kpi import KpiTotals
from factoryos.plant.records import MachineRecord
from factoryos.production.kpi_models import OeeReport, Scope
from factoryos.production.oee import build_report


@dataclass(frozen=True)
class ShiftOee:
    start: datetime  # the running shift's start (no shift running: `end`)
    end: datetime  # the instant computed at
    windows: int
    machines: tuple[MachineRecord, ...]  # by code
    totals: Mapping[UUID, KpiTotals]

    def only(self, machine_ids: tuple[UUID, ...]) -> ShiftOee:
        """As a reader limited to these machines sees it (the database hides the others from them)."""
        keep = set(machine_ids)
        return ShiftOee(self.start, self.end, self.windows, tuple(m for m in self.machines if m["id"] in keep),
                        self.totals)

    def holds(self, machine_id: UUID) -> bool:
        return any(m["id"] == machine_id for m in self.machines)

    def report(self, scope: Scope, scope_id: UUID) -> OeeReport:
        """What `oee_report` gives for `shift=running` at `end`; the scope's own lookup is the caller's."""
        if scope == "site":
            rows = list(self.machines)
        elif scope == "line":
            rows = [m for m in self.machines if m["line_id"] == scope_id]
        else:
            rows = [m for m in self.machines if m["id"] == scope_id]
        return build_report(scope, scope_id, self.start, self.end, self.windows, rows, self.totals)
