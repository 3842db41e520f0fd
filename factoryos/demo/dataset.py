"""What the demo plant holds: sites, lines, machine kinds, shifts and people.

Plain data, so the seeding code, the tests and the printed summary agree on one truth.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPANY = {
    "company_name": "Demo Works",
    "industry": "Contract manufacturing",
    "company_size": "51-200",
    "city": "Linz",
    "default_currency": "EUR",
    "timezone": "Europe/Vienna",
}


@dataclass(frozen=True)
class ShiftSpec:
    name: str
    start: str
    end: str
    breaks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    timezone: str
    address: str
    lines: tuple[tuple[str, str], ...]  # (code, name)
    shifts: tuple[ShiftSpec, ...]


SITES = (
    SiteSpec(
        "LNZ", "Linz Plant", "Europe/Vienna", "Industriezeile 12, 4020 Linz",
        lines=(("MACH", "Machining"), ("MOLD", "Moulding")),
        shifts=(
            ShiftSpec("Early", "06:00", "14:00", (("10:00", "10:30"),)),
            ShiftSpec("Late", "14:00", "22:00", (("18:00", "18:30"),)),
            ShiftSpec("Night", "22:00", "06:00", (("02:00", "02:30"),)),
        ),
    ),
    SiteSpec(
        "CHI", "Chicago Plant", "America/Chicago", "2400 W Fulton St, Chicago IL",
        lines=(("ADD", "Additive"), ("ASSY", "Assembly")),
        shifts=(
            ShiftSpec("Day", "07:00", "15:30", (("11:30", "12:00"),)),
            ShiftSpec("Swing", "15:30", "00:00", (("19:30", "20:00"),)),
            ShiftSpec("Graveyard", "00:00", "07:00"),
        ),
    ),
)

# (code prefix, display name, line code): 6 per line, 24 in all.
MACHINE_KINDS = {
    "MACH": ("CNC", "CNC mill"),
    "MOLD": ("IMM", "Injection moulder"),
    "ADD": ("PRN", "3D printer"),
    "ASSY": ("PRS", "Press"),
}
MACHINES_PER_LINE = 6


@dataclass(frozen=True)
class Person:
    key: str
    display_name: str
    role: str  # the owner is made by company setup; the others are invited with this role


PEOPLE = (
    Person("manager", "Mara Manager", "owner"),
    Person("supervisor", "Sepp Supervisor", "supervisor"),
    Person("operator", "Olli Operator", "operator"),
)


def machine_codes() -> list[tuple[str, str, str]]:
    """(site code, line code, machine code) for all 24 machines, in a stable order."""
    out = []
    for site in SITES:
        for line_code, _ in site.lines:
            prefix, _name = MACHINE_KINDS[line_code]
            out += [(site.code, line_code, f"{prefix}-{i:02d}") for i in range(1, MACHINES_PER_LINE + 1)]
    return out
