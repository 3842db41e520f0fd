"""Quality: nonconformances and CAPAs, a list with the highlighted one's detail below.

**F3** switches between NCs and CAPAs, **F2** cycles the status shown. On an NC: **F4** opens a new
one (at the terminal), **F7** opens one from a rejection of the last day (Enter on it), **F5**
decides the disposition, **F6** closes it with an electronic signature. On a CAPA, **F6** approves
its next step (signed). Times are in the machine's site time; a signature shows whether the
record still matches what was signed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from factoryos.client import ClientError
from factoryos.client.models import ROLE_TITLES, ROLES
from factoryos.nonconformances.capa_models import CapaOut, CapaSummary
from factoryos.nonconformances.nc_models import NcOut, NcSummary
from factoryos.signatures.models import SignatureOut
from tui.reference import PlantReference, load_reference
from tui.screens.base import AppScreen
from tui.screens.quality_forms import DispositionForm, NcForm
from tui.screens.quality_rejections import RejectionPicker
from tui.screens.signature_dialog import SignatureDialog
from tui.widgets.header import Header

NC_STATUSES = (None, "open", "dispositioned", "closed")
CAPA_STATUSES = (None, "open", "closed")
DISPOSITION = {"scrap": "scrap", "rework": "rework", "use_as_is": "use as is", "return_to_supplier": "return"}
STEP = {"containment": "containment", "root_cause": "root cause", "actions": "actions",
        "effectiveness": "effectiveness"}
PAGE = 200
APPROVE = "quality.approve"
MANAGE = "quality.manage"


def qty(value: Any) -> str:
    text = f"{value:f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:f}"
    return text or "0"


def approvers(permission: str = APPROVE) -> str:
    """The roles that carry `permission` by default, e.g. "Plant Manager, Admin or Owner"."""
    titles = [ROLE_TITLES[r] for r in ROLES if permission in ROLES[r]]
    ordered = sorted(titles, key=lambda t: t in ("Admin", "Owner"))  # the floor's role first
    return ", ".join(ordered[:-1]) + f" or {ordered[-1]}" if len(ordered) > 1 else "".join(ordered)


def signature_line(s: SignatureOut, zone: ZoneInfo) -> str:
    state = "valid" if s.valid else "NO LONGER VALID: changed since signed"
    why = f" — {s.reason}" if s.reason else ""
    return f"✍ {s.signer_name}, {s.meaning}, {s.signed_at.astimezone(zone):%Y-%m-%d %H:%M %Z}{why} · {state}"


class QualityScreen(AppScreen):
    ACTION_PERMISSIONS = {"new_nc": ("quality.inspect",), "from_rejection": ("quality.inspect",),
                          "disposition": (MANAGE,),
                          "sign": (APPROVE,)}
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f2", "status", "Status", tooltip="Show one status, or all.", id="q-status"),
        Binding("f3", "switch", "NC/CAPA", tooltip="Switch between nonconformances and CAPAs.", id="q-switch"),
        Binding("f4", "new_nc", "New NC", tooltip="Open a nonconformance.", id="q-new"),
        Binding("f5", "disposition", "Dispose", tooltip="Decide the highlighted NC's disposition.", id="q-dispose"),
        Binding("f6", "sign", "Sign", tooltip="Close the NC, or approve the CAPA's next step, with a signature.",
                id="q-sign"),
        # Said in the title line, not the footer: at 80 columns the footer has no room left.
        Binding("f7", "from_rejection", "From scrap", tooltip="Open a nonconformance from scrap of the last day: booked, or counted by a machine.",
                id="q-from-rejection", show=False),
        Binding("ctrl+r", "reload", "Reload", tooltip="Load the list again.", show=False),
    ]
    HELP = __doc__ or ""
    AUTO_FOCUS = "#q-table"
    DEFAULT_CSS = """
    QualityScreen #q-title { height: 1; padding: 0 1; text-style: bold; }
    QualityScreen #q-table { height: 1fr; min-height: 5; }
    QualityScreen #q-detail { height: 1fr; padding: 0 1; overflow-y: auto; border-top: solid $primary; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.mode = "nc"
        self.status_index = 0
        self.ncs: list[NcSummary] = []
        self.capas: list[CapaSummary] = []
        self.nc: NcOut | None = None
        self.capa: CapaOut | None = None
        self.reference: PlantReference | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="q-title")
        yield DataTable(id="q-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="q-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    # -- helpers ----------------------------------------------------------------------------------

    def zone(self, machine_id: UUID | None = None) -> ZoneInfo:
        """The clock of the machine's site (else the first site's; UTC without one)."""
        ref = self.reference
        if ref is None or not ref.sites:
            return ZoneInfo("UTC")
        machine = ref.machine(machine_id) if machine_id else None
        site = ref.site(machine.site_id) if machine else None
        return ZoneInfo((site or ref.sites[0]).timezone)

    @property
    def statuses(self) -> tuple[str | None, ...]:
        return NC_STATUSES if self.mode == "nc" else CAPA_STATUSES

    def action_reload(self) -> None:
        self.load()

    def action_status(self) -> None:
        self.status_index = (self.status_index + 1) % len(self.statuses)
        self.load()

    def action_switch(self) -> None:
        self.mode = "capa" if self.mode == "nc" else "nc"
        self.status_index = 0
        self.nc = self.capa = None
        self.load()

    # -- list -------------------------------------------------------------------------------------

    @work(exclusive=True, group="quality", exit_on_error=False)
    async def load(self) -> None:
        if self.reference is None:
            self.reference = self.session.reference or await load_reference(self.api)
        status = self.statuses[self.status_index]
        table = self.query_one("#q-table", DataTable)
        table.clear(columns=True)
        which = "Nonconformances" if self.mode == "nc" else "CAPAs"
        scrap = " · F7: NC from scrap" if self.mode == "nc" and self.check_action("from_rejection", ()) else ""
        self.query_one("#q-title", Static).update(f"{which} · {status or 'every status'}   (F3: "
                                                  f"{'CAPAs' if self.mode == 'nc' else 'NCs'}{scrap})")
        if self.mode == "nc":
            page = await self.api.nonconformances(status=status, limit=PAGE)
            self.ncs = list(page.items)
            for label, width in (("NC", 8), ("Status", 13), ("Machine", 9), ("Qty", 6), ("Decision", 9),
                                 ("Opened", 11), ("What", 14)):
                table.add_column(label, width=width)
            for n in self.ncs:
                table.add_row(n.code, n.status, n.machine_code or "", qty(n.quantity),
                              DISPOSITION.get(n.disposition or "", ""),
                              f"{n.created_at.astimezone(self.zone(n.machine_id)):%m-%d %H:%M}",
                              n.description[:40], key=str(n.id))
            empty = not self.ncs
        else:
            capa_page = await self.api.capas(status=status, limit=PAGE)
            self.capas = list(capa_page.items)
            for label, width in (("CAPA", 10), ("Status", 8), ("Owner", 16), ("Opened", 11), ("Title", 26)):
                table.add_column(label, width=width)
            for c in self.capas:
                table.add_row(c.code, c.status, c.owner_name or "", f"{c.created_at.astimezone(self.zone()):%m-%d %H:%M}",
                              c.title[:40], key=str(c.id))
            empty = not self.capas
        if empty:
            self.query_one("#q-detail", Static).update("Nothing here yet." if status is None
                                                       else f"Nothing {status}: F2 shows another status.")
            return
        self.load_detail(UUID(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)))

    @on(DataTable.RowHighlighted, "#q-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        current = self.nc if self.mode == "nc" else self.capa
        if current is None or str(current.id) != event.row_key.value:
            self.load_detail(UUID(str(event.row_key.value)))

    # -- detail -----------------------------------------------------------------------------------

    @work(exclusive=True, group="quality-detail", exit_on_error=False)
    async def load_detail(self, record_id: UUID) -> None:
        try:
            if self.mode == "nc":
                self.show_nc(await self.api.nonconformance(record_id))
            else:
                self.show_capa(await self.api.capa(record_id))
        except ClientError as exc:
            if exc.code in ("nonconformance_not_found", "capa_not_found"):
                return
            raise

    def show_nc(self, nc: NcOut) -> None:
        self.nc = nc
        zone = self.zone(nc.machine_id)
        lines = [f"{nc.code} · {nc.status} · {qty(nc.quantity)} at {nc.machine_code}"
                 + (f" · product {nc.product_number}" if nc.product_number else "")
                 + (f" · order {nc.order_number}" if nc.order_number else ""),
                 nc.description,
                 f"Opened {nc.created_at.astimezone(zone):%Y-%m-%d %H:%M} by {nc.reported_by_name or '?'}"]
        if nc.disposition:
            when = f"{nc.dispositioned_at.astimezone(zone):%Y-%m-%d %H:%M}" if nc.dispositioned_at else ""
            lines.append(f"Disposition: {DISPOSITION[nc.disposition]} by {nc.dispositioned_by_name or '?'} {when}"
                         + (f" — {nc.disposition_note}" if nc.disposition_note else ""))
        lines += [signature_line(s, zone) for s in nc.signatures]
        if nc.status == "open":
            lines.append(self.disposition_hint())
        elif nc.status == "dispositioned":
            lines.append(self.close_hint())
        self.query_one("#q-detail", Static).update("\n".join(lines))

    def disposition_hint(self) -> str:
        """What comes next for an open NC: the key when the user may decide, else who decides."""
        if self.session.can(MANAGE):
            return "Next: F5 decides the disposition."
        return f"Next: someone who may manage quality decides its disposition ({approvers(MANAGE)})."

    def close_hint(self) -> str:
        """What comes next for a dispositioned NC: the key when the user may sign, else who signs."""
        if self.session.can(APPROVE):
            return "Next: F6 closes it with your signature."
        return f"Next: closing needs the signature of someone who may approve quality ({approvers()})."

    def show_capa(self, capa: CapaOut) -> None:
        self.capa = capa
        zone = self.zone()
        lines = [f"{capa.code} · {capa.status} · owner {capa.owner_name or '—'} · NCs {', '.join(capa.nonconformance_codes)}",
                 f"Problem: {capa.problem}"]
        if capa.containment:
            lines.append(f"Containment: {capa.containment}")
        lines += [f"Why {i}: {w}" for i, w in enumerate(capa.whys, 1)]
        if capa.root_cause:
            lines.append(f"Root cause: {capa.root_cause}")
        for a in capa.actions:
            state = "done" if a.done_at else ("OVERDUE" if a.overdue else "open")
            lines.append(f"• {a.description} — {a.owner_name or '?'}, due {a.due_date:%Y-%m-%d}, {state}")
        if capa.effectiveness_check:
            lines.append(f"Effectiveness: {capa.effectiveness_check}"
                         + ("" if capa.effective is None else (" (effective)" if capa.effective else " (not effective)")))
        for step in capa.steps:
            mark = "✔ approved" if step.approved else ("ready to approve" if step.ready else "not ready")
            lines.append(f"[{STEP[step.step]}] {mark}")
            lines += [f"   {signature_line(s, zone)}" for s in step.signatures]
        hint = self.approve_hint(capa)
        if hint:
            lines.append(hint)
        self.query_one("#q-detail", Static).update("\n".join(lines))

    def approve_hint(self, capa: CapaOut) -> str | None:
        """The next step ready to approve, and whether this user may sign it (never the CAPA's owner)."""
        step = next((s for s in capa.steps if not s.approved), None)
        if capa.status == "closed" or step is None or not step.ready:
            return None
        name = STEP[step.step]
        if not self.session.can(APPROVE):
            return f"Next: {name} needs the approval of someone who may approve quality ({approvers()})."
        if capa.owner_id is not None and capa.owner_id == self.session.me.account.id:
            return f"Next: {name} needs a second person's approval: you own this CAPA."
        return f"Next: F6 approves {name} with your signature."

    # -- actions ----------------------------------------------------------------------------------

    def action_new_nc(self) -> None:
        machines = self.reference.machines if self.reference else []
        self.app.push_screen(NcForm(self.api, machines), callback=self._saved)

    def action_from_rejection(self) -> None:
        ref = self.reference
        self.app.push_screen(RejectionPicker(self.api, ref.sites if ref else [], ref.machines if ref else []),
                             callback=self._opened)

    def _opened(self, result: NcOut | None) -> None:
        if result is not None and self.mode != "nc":  # show the new NC among the NCs
            self.mode, self.status_index, self.capa = "nc", 0, None
        self._saved(result)

    def action_disposition(self) -> None:
        nc = self.nc
        if self.mode != "nc" or nc is None:
            self.notify("Highlight a nonconformance first (F3 shows NCs).", severity="warning")
            return
        if nc.status == "closed":
            self.notify(f"{nc.code} is closed: its disposition stands.", severity="warning")
            return
        self.app.push_screen(DispositionForm(self.api, nc.id, nc.code, nc.disposition), callback=self._saved)

    def action_sign(self) -> None:
        totp = self.session.me.account.mfa_enabled
        if self.mode == "nc":
            nc = self.nc
            if nc is None or nc.status != "dispositioned":
                self.notify("Only an NC with a disposition is closed by signature (F5 decides one).",
                            severity="warning")
                return
            nc_id = nc.id
            what = f"close {nc.code} — {DISPOSITION[nc.disposition or '']}"
            self.app.push_screen(SignatureDialog(what, totp=totp, submit=lambda sig: self.api.close_nonconformance(
                nc_id, sig)), callback=self._saved)
            return
        capa = self.capa
        step = next((s for s in capa.steps if not s.approved), None) if capa else None
        if capa is None or step is None or capa.status == "closed":
            self.notify("Nothing to approve here.", severity="warning")
            return
        if not step.ready:
            self.notify(f"{STEP[step.step].capitalize()} is not ready to approve yet.", severity="warning")
            return
        capa_id, name = capa.id, step.step
        self.app.push_screen(SignatureDialog(f"approve {capa.code} {STEP[name]}", totp=totp,
                                             submit=lambda sig: self.api.approve_capa_step(capa_id, name, sig)),
                             callback=self._saved)

    def _saved(self, result: Any) -> None:
        if result is None:
            return
        if isinstance(result, NcOut):
            self.notify(f"{result.code} is {result.status}.", title="Saved")
            self.nc = None
        elif isinstance(result, CapaOut):
            self.notify(f"{result.code}: approved.", title="Signed")
            self.capa = None
        self.load()
