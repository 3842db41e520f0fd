"""Limit one member to the machines they are certified for: tick them; none ticked is no limit
(every machine of the sites they work at).
"""

from __future__ import annotations

from factoryos.client.models import MachineOut, Member, SiteOut
from tui.screens.plan_forms import Save
from tui.widgets.member_sites import MemberTickDialog


def machines_text(member: Member) -> str:
    """What the Sites cell starts with for a member limited to some machines (first: at 80 columns
    the cell is the last one visible and is cut)."""
    if member.machine_ids is None:
        return ""
    count = len(member.machine_ids)
    return f"{count} machine{'s' if count != 1 else ''} · "


class MemberMachinesDialog(MemberTickDialog):
    HELP = ("**Space** ticks a machine the person is certified for; they then see and record only the "
            "ticked machines. None ticked: every machine of their sites. **Ctrl+S** saves; **Escape** cancels.")
    KEY, LIST_ID = "machine_ids", "member-machines"
    FIELDS = {KEY: LIST_ID}
    PROMPT = "Machines they are certified for. None ticked: every machine of their sites."
    DEFAULT_CSS = """
    MemberMachinesDialog #member-machines { height: auto; max-height: 12; }
    """

    def __init__(self, member: Member, machines: list[MachineOut], sites: dict[str, SiteOut], save: Save) -> None:
        # Only the machines of the sites they work at can be ticked.
        within = {str(s) for s in member.site_ids} if member.site_ids is not None else None

        def label(m: MachineOut) -> str:
            site = sites.get(str(m.site_id))
            return f"{m.code}  {m.name}" + (f"  ({site.code})" if site is not None and len(sites) > 1 else "")

        super().__init__(member, [(label(m), m.id) for m in machines if within is None or str(m.site_id) in within],
                         member.machine_ids, save)
