"""The plant data operator screens look things up in: machines by code, the shifts
around today, and the reason trees. Loaded once per session and kept for outages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from factoryos.client import ClientError, FactoryClient
from factoryos.client.models import MachineOut, ReasonOut, ShiftInstanceOut, SiteOut

QUALITY = "quality"


@dataclass
class PlantReference:
    sites: list[SiteOut]
    machines: list[MachineOut]
    shifts: list[ShiftInstanceOut]
    reasons: list[ReasonOut]
    # Machines with an enabled connection: they count their own good parts (every connection
    # has a good-parts signal), so a manual good count for them is refused.
    counting: set[UUID] = field(default_factory=set)

    def counts_itself(self, machine_id: UUID) -> bool:
        return machine_id in self.counting

    def site(self, site_id: UUID) -> SiteOut | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def machine_by_code(self, code: str) -> MachineOut | None:
        wanted = code.strip().casefold()
        return next((m for m in self.machines if m.code.casefold() == wanted), None)

    def machine(self, machine_id: UUID) -> MachineOut | None:
        return next((m for m in self.machines if m.id == machine_id), None)

    def running_shift(self, site_id: UUID, now: datetime | None = None) -> ShiftInstanceOut | None:
        at = now or datetime.now(UTC)
        return next((s for s in self.shifts if s.site_id == site_id and s.starts_at <= at < s.ends_at), None)

    def shift_label(self, shift: ShiftInstanceOut, now: datetime | None = None) -> str:
        site = self.site(shift.site_id)
        zone = ZoneInfo(site.timezone) if site else UTC
        start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
        at = now or datetime.now(UTC)
        where = f"{site.code} · " if site and len(self.sites) > 1 else ""
        running = "  ◀ now" if shift.starts_at <= at < shift.ends_at else ""
        return f"{where}{shift.name} {shift.local_date:%a %d %b} {start:%H:%M}–{end:%H:%M}{running}"

    def reason_label(self, reason: ReasonOut) -> str:
        names = [reason.name]
        parent = reason.parent_id
        by_id = {r.id: r for r in self.reasons}
        while parent is not None and parent in by_id and len(names) < 4:
            names.append(by_id[parent].name)
            parent = by_id[parent].parent_id
        return " › ".join(reversed(names))

    def reason_choices(self, *, quality: bool) -> list[tuple[str, UUID]]:
        """Reasons an operator can pick (not bare categories): scrap needs quality ones."""
        picked = [r for r in self.reasons
                  if r.active and r.level != "category" and (r.loss_bucket == QUALITY) == quality]
        return sorted(((self.reason_label(r), r.id) for r in picked), key=lambda pair: pair[0])


async def load_reference(api: FactoryClient) -> PlantReference:
    sites = await api.sites()
    machines = await api.machines()
    today = datetime.now(UTC).date()
    shifts: list[ShiftInstanceOut] = []
    for site in sites:
        # Local dates are within a day of the UTC date: yesterday's night shift may still run.
        shifts += await api.shift_instances(site.id, today - timedelta(days=1), today + timedelta(days=1))
    shifts.sort(key=lambda s: s.starts_at)
    reasons = await api.reasons()
    counting: set[UUID] = set()
    for site in sites:
        try:
            live = await api.live(site.id)
        except ClientError as exc:
            if exc.transient:
                raise
            continue  # a role without the live view: refusals still say which machines count
        counting |= {m.machine_id for m in live.machines if m.connection is not None and m.connection.enabled}
    return PlantReference(sites, sorted(machines, key=lambda m: m.code), shifts, reasons, counting)
