"""The reason tree every company starts with: the six big losses plus planned stops.

(code, name, loss bucket, planned, children). Codes are stable identifiers; companies
rename, extend or deactivate entries, never lose them (events refer to them).
"""

from __future__ import annotations

DefaultReason = tuple[str, str, str, bool, tuple["DefaultReason", ...]]


def _r(code: str, name: str, *children: DefaultReason, bucket: str = "", planned: bool = False) -> DefaultReason:
    return (code, name, bucket, planned, children)


def _tree() -> tuple[DefaultReason, ...]:
    avail, perf, qual = "availability", "performance", "quality"
    return (
        _r("PLANNED", "Planned stops",
           _r("PLANNED.MAINTENANCE", "Planned maintenance"),
           _r("PLANNED.NO_ORDERS", "No production scheduled"),
           _r("PLANNED.MEETING", "Meeting or training"),
           _r("PLANNED.CLEANING", "Scheduled cleaning"),
           bucket=avail, planned=True),
        _r("BREAKDOWN", "Equipment failure",
           _r("BREAKDOWN.MECHANICAL", "Mechanical failure",
              _r("BREAKDOWN.MECHANICAL.HYDRAULIC", "Hydraulics"),
              _r("BREAKDOWN.MECHANICAL.DRIVE", "Drive or bearing")),
           _r("BREAKDOWN.ELECTRICAL", "Electrical or control failure"),
           _r("BREAKDOWN.TOOLING", "Tool breakage"),
           bucket=avail),
        _r("SETUP", "Setup and adjustments",
           _r("SETUP.CHANGEOVER", "Changeover"),
           _r("SETUP.ADJUSTMENT", "Adjustment or calibration"),
           _r("SETUP.MATERIAL", "Waiting for material"),
           bucket=avail),
        _r("MINOR_STOP", "Idling and minor stops",
           _r("MINOR_STOP.JAM", "Jam or misfeed"),
           _r("MINOR_STOP.BLOCKED", "Blocked or starved by the line"),
           _r("MINOR_STOP.SENSOR", "Sensor trip"),
           bucket=perf),
        _r("REDUCED_SPEED", "Reduced speed",
           _r("REDUCED_SPEED.WEAR", "Worn tooling or equipment"),
           _r("REDUCED_SPEED.MATERIAL", "Difficult material"),
           bucket=perf),
        _r("DEFECT", "Process defects",
           _r("DEFECT.DIMENSION", "Out of tolerance"),
           _r("DEFECT.SURFACE", "Surface defect"),
           _r("DEFECT.ASSEMBLY", "Assembly error"),
           bucket=qual),
        _r("STARTUP", "Reduced yield (start-up rejects)",
           _r("STARTUP.WARMUP", "Warm-up scrap"),
           _r("STARTUP.CHANGEOVER", "Scrap after changeover"),
           bucket=qual),
    )


DEFAULT_REASONS: tuple[DefaultReason, ...] = _tree()
