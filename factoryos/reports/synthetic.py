"""Seeded, internally consistent report documents for demos, benchmarks and tests.

Names are deliberately multilingual (Polish, Turkish, Spanish, Greek, Cyrillic,
Vietnamese…) so every renderer is exercised on real-world Unicode.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from factoryos.reports.model import (
    Column,
    KpiSummary,
    RawEntries,
    ReportDocument,
    ReportHeader,
    ReportKind,
    Row,
    Section,
    ValueType,
)
from factoryos.reports.sections import (
    ProductionFigures,
    ReasonFigures,
    downtime_pareto,
    downtime_table,
    oee_chart,
    production_table,
    rejections_chart,
    rejections_table,
)

T = ValueType

MACHINE_FAMILIES = ("Presse", "Fräse", "Tokarka", "Πρέσα", "Станок", "Inyectora", "Laser", "Robot")
OPERATORS = (
    "Łukasz Żółć", "Ünal Yılmaz", "María Ñúñez", "Γιώργος Παπαδόπουλος", "Дмитрий Иванов",
    "Zoë Brontë", "Søren Kierkegård", "Nguyễn Văn An", "Jiří Dvořák", "Ayşe Çelik",
    "Ольга Смирнова", "François Lefèvre",
)
DOWNTIME_REASONS = (
    ("Tool change", "Setup"), ("Material shortage", "Logistics"), ("Feeder jam", "Mechanical"),
    ("Hydraulic leak", "Mechanical"), ("Sensor fault", "Electrical"),
    ("Überlast Motor", "Electrical"), ("Waiting for operator", "Organisation"),
    ("Quality check", "Quality"), ("Pokrywa otwarta", "Safety"), ("Cleaning", "Organisation"),
)
REJECT_REASONS = (
    ("Dimension out of tolerance", "Dimensional"), ("Surface scratch", "Cosmetic"),
    ("Burr", "Cosmetic"), ("Porosity", "Material"), ("Wrong colour", "Cosmetic"),
    ("Crack", "Material"), ("Żle zgrzane", "Process"),
)
SHIFTS = (("Morning", time(6)), ("Afternoon", time(14)), ("Night", time(22)))
BREAK = timedelta(minutes=30)


@dataclass(slots=True)
class _Tally:
    """Times in seconds and counts; ratios are derived last (never averaged)."""

    planned: float = 0.0
    run: float = 0.0
    down: float = 0.0
    ideal: float = 0.0
    total: int = 0
    good: int = 0
    rejects: int = 0

    def add(self, other: _Tally) -> None:
        self.planned += other.planned
        self.run += other.run
        self.down += other.down
        self.ideal += other.ideal
        self.total += other.total
        self.good += other.good
        self.rejects += other.rejects

    def figures(self) -> ProductionFigures:
        a = self.run / self.planned if self.planned else None
        p = self.ideal / self.run if self.run else None
        q = self.good / self.total if self.total else None
        oee = a * p * q if a is not None and p is not None and q is not None else None
        return ProductionFigures(
            planned_time=timedelta(seconds=self.planned),
            run_time=timedelta(seconds=self.run),
            downtime=timedelta(seconds=self.down),
            ideal_time=timedelta(seconds=self.ideal),
            total=self.total,
            good=self.good,
            rejects=self.rejects,
            availability=a,
            performance=p,
            quality=q,
            oee=oee,
        )


@dataclass(slots=True)
class _ShiftRun:
    start: datetime
    shift: str
    machine: str
    operator: str
    tally: _Tally
    stops: dict[str, tuple[int, float]] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)


def machine_names(count: int) -> list[str]:
    return [f"{MACHINE_FAMILIES[i % len(MACHINE_FAMILIES)]} {i + 1:03d}" for i in range(count)]


def _shift_runs(
    rng: random.Random, machines: list[str], first_day: date, days: int, shifts: int,
    tz: ZoneInfo,
) -> Iterator[_ShiftRun]:
    cycle = {m: rng.uniform(4.0, 40.0) for m in machines}
    wear = {m: rng.random() for m in machines}  # spreads OEE from world class to poor
    for d in range(days):
        day = first_day + timedelta(days=d)
        for s, (shift, begins) in enumerate(SHIFTS[:shifts]):
            start = datetime.combine(day, begins, tz)
            # Subtracting aware datetimes in UTC gives real elapsed time across DST.
            length = _shift_end(day, s, tz).astimezone(UTC) - start
            for i, machine in enumerate(machines):
                planned = (length - BREAK).total_seconds()
                down = planned * rng.uniform(0.01, 0.06 + 0.3 * wear[machine])
                run = planned - down
                speed = rng.uniform(0.93 - 0.2 * wear[machine], 0.995)
                total = int(run * speed / cycle[machine])
                rejected = int(total * rng.uniform(0.0, 0.01 + 0.05 * wear[machine]))
                tally = _Tally(planned, run, down, total * cycle[machine], total,
                               total - rejected, rejected)
                item = _ShiftRun(start, shift, machine, OPERATORS[(i + s + d) % len(OPERATORS)],
                                 tally)
                picked = rng.sample(DOWNTIME_REASONS, rng.randint(1, 4))
                weights = [rng.random() ** 2 + 0.01 for _ in picked]
                for (reason, _), w in zip(picked, weights):
                    item.stops[reason] = (rng.randint(1, 6), down * w / sum(weights))
                left = rejected
                for j, (reason, _) in enumerate(rng.sample(REJECT_REASONS, 3)):
                    n = left if j == 2 else rng.randint(0, left)
                    item.rejects[reason] = n
                    left -= n
                yield item


def _shift_end(day: date, index: int, tz: ZoneInfo) -> datetime:
    begins = SHIFTS[index][1]
    ends = SHIFTS[(index + 1) % len(SHIFTS)][1]
    return datetime.combine(day + timedelta(days=1) if ends <= begins else day, ends, tz)


@dataclass(slots=True)
class _Aggregate:
    """Roll-ups built in one pass, so a year of shifts never has to sit in memory."""

    site: _Tally = field(default_factory=_Tally)
    machines: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    operators: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    stops: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0]))
    rejects: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, run: _ShiftRun) -> None:
        self.site.add(run.tally)
        self.machines[run.machine].add(run.tally)
        self.operators[run.operator].add(run.tally)
        for reason, (n, seconds) in run.stops.items():
            self.stops[reason][0] += n
            self.stops[reason][1] += seconds
        for reason, n in run.rejects.items():
            self.rejects[reason] += n

    def reasons(self) -> tuple[list[ReasonFigures], list[ReasonFigures]]:
        categories = dict(DOWNTIME_REASONS + REJECT_REASONS)
        downtime = [ReasonFigures(k, categories[k], int(v[0]), timedelta(seconds=v[1]))
                    for k, v in self.stops.items()]
        rejected = [ReasonFigures(k, categories[k], v) for k, v in self.rejects.items()]
        return downtime, rejected


RAW_COLUMNS = (
    Column("start", "Start", T.DATETIME),
    Column("end", "End", T.DATETIME),
    Column("machine", "Machine"),
    Column("shift", "Shift"),
    Column("operator", "Operator"),
    Column("event", "Event"),
    Column("reason", "Reason"),
    Column("duration", "Duration", T.DURATION),
    Column("good", "Good", T.INT),
    Column("rejects", "Rejects", T.INT),
)


def raw_entries(
    count: int, machines: list[str], start: datetime, end: datetime, seed: int
) -> RawEntries:
    """`count` machine events spread over the range, regenerated lazily on each call."""

    def rows() -> Iterator[Row]:
        rng = random.Random(seed)
        span = (end - start).total_seconds()
        step = span / max(count, 1)
        for i in range(count):
            at = start + timedelta(seconds=i * step)
            seconds = rng.randint(20, 1800)
            stop = rng.random() < 0.3
            reason = rng.choice(DOWNTIME_REASONS)[0] if stop else None
            good = 0 if stop else rng.randint(1, 400)
            yield (
                at, at + timedelta(seconds=seconds), machines[i % len(machines)],
                SHIFTS[(at.hour // 8) % 3][0], OPERATORS[i % len(OPERATORS)],
                "Stop" if stop else "Run", reason, timedelta(seconds=seconds),
                good, 0 if stop else rng.randint(0, 6),
            )

    return RawEntries(columns=RAW_COLUMNS, rows=rows, count=count)


def synthetic_report(
    kind: ReportKind,
    *,
    machines: int = 12,
    first_day: date = date(2025, 3, 3),
    days: int = 1,
    timezone: str = "Europe/Warsaw",
    raw_rows: int = 0,
    seed: int = 7,
    shifts: int = 3,
) -> ReportDocument:
    """A report over `days` days from `first_day` (only the first `shifts` shifts of each)."""
    if not 1 <= shifts <= len(SHIFTS):
        raise ValueError(f"shifts must be between 1 and {len(SHIFTS)}")
    tz = ZoneInfo(timezone)
    rng = random.Random(seed)
    names = machine_names(machines)
    start = datetime.combine(first_day, SHIFTS[0][1], tz)
    end = _shift_end(first_day + timedelta(days=days - 1), shifts - 1, tz)

    keep = kind is ReportKind.PRODUCTION_BY_SHIFT
    runs: list[_ShiftRun] = []
    agg = _Aggregate()
    for run in _shift_runs(rng, names, first_day, days, shifts, tz):
        agg.add(run)
        if keep:
            runs.append(run)
    totals = agg.site.figures()
    downtime, rejected = agg.reasons()
    by_machine = agg.machines
    oee_bars = oee_chart((m, by_machine[m].figures().oee) for m in names)

    sections: list[Section]
    machine_col = Column("machine", "Machine")
    if kind in (ReportKind.PRODUCTION_BY_MACHINE, ReportKind.OEE_SUMMARY):
        table = production_table(
            "by_machine", "Production by machine", [machine_col],
            (((m,), by_machine[m].figures()) for m in names), totals,
        )
        sections = [table, oee_bars, downtime_pareto(downtime)]
        if kind is ReportKind.OEE_SUMMARY:
            sections = [oee_bars, table]
    elif kind is ReportKind.PRODUCTION_BY_SHIFT:
        table = production_table(
            "by_shift", "Production by shift",
            [Column("shift_start", "Shift start", T.DATETIME), Column("shift", "Shift"),
             machine_col, Column("operator", "Operator")],
            (((r.start, r.shift, r.machine, r.operator), r.tally.figures()) for r in runs),
            totals,
        )
        sections = [table, oee_bars]
    elif kind is ReportKind.PRODUCTION_BY_OPERATOR:
        by_operator = agg.operators
        table = production_table(
            "by_operator", "Production by operator", [Column("operator", "Operator")],
            (((o,), by_operator[o].figures()) for o in sorted(by_operator)), totals,
        )
        sections = [table]
    elif kind is ReportKind.REJECTIONS_BY_REASON:
        sections = [rejections_table(rejected), rejections_chart(rejected)]
    else:
        sections = [downtime_table(downtime), downtime_pareto(downtime)]

    header = ReportHeader(
        company="Zakłady Mechaniczne Łódź S.A.",
        site="Łódź — Hala 2",
        timezone=timezone,
        start=start,
        end=end,
        kind=kind,
        generated_by="Łukasz Żółć",
        generated_at=end + timedelta(minutes=7),
    )
    kpis = KpiSummary(
        oee=totals.oee,
        availability=totals.availability,
        performance=totals.performance,
        quality=totals.quality,
        good=totals.good,
        rejects=totals.rejects,
        downtime=totals.downtime,
    )
    raw = raw_entries(raw_rows, names, start, end, seed) if raw_rows else None
    return ReportDocument(header=header, kpis=kpis, sections=tuple(sections), raw=raw)
