"""Report rendering benchmark: 200 machines, synthetic data over one year.

Scenarios, each in a fresh process so memory peaks do not mix:
  shift_pdf     one shift of 200 machines as PDF            (aim ≤ 2 s)
  monthly_xlsx  30 days × 3 shifts × 200 machines as XLSX   (aim ≤ 5 s)
  raw_xlsx      a year's report with 1,000,000 raw entries  (aim < 300 MB peak)
  api           end to end over HTTP on a served plant (embedded PostgreSQL, 200 machines,
                a year of shifts seeded first): a shift PDF (aim ≤ 2 s) and a monthly XLSX
                with its raw entries, each the server building the report from the database,
                rendering it and sending it

Prints wall and CPU time of the render (CPU time is steadier on a shared machine), the
process's peak RSS (an upper bound that includes the interpreter and the model) and,
for the PDF, the traced Python heap peak of the render alone. The api scenario prints
wall time per request (best of three) and the bytes received.

Run from the repository root: python -m scripts.bench.reports [--only NAME] [--raw-rows N] [--days N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from factoryos.reports import ReportDocument, ReportKind
from factoryos.reports.pdf import render_pdf
from factoryos.reports.synthetic import synthetic_report
from factoryos.reports.xlsx import render_xlsx

MACHINES = 200
AIMS = {"shift_pdf": "≤ 2 s", "monthly_xlsx": "≤ 5 s", "raw_xlsx": "< 300 MB peak", "api": "shift PDF ≤ 2 s"}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _scenario(name: str, raw_rows: int) -> tuple[ReportDocument, Callable[..., None], str]:
    if name == "shift_pdf":
        doc = synthetic_report(ReportKind.PRODUCTION_BY_SHIFT, machines=MACHINES, shifts=1)
        return doc, render_pdf, ".pdf"
    if name == "monthly_xlsx":
        doc = synthetic_report(ReportKind.PRODUCTION_BY_SHIFT, machines=MACHINES, days=30)
        return doc, render_xlsx, ".xlsx"
    if name == "raw_xlsx":
        doc = synthetic_report(ReportKind.PRODUCTION_BY_MACHINE, machines=MACHINES, days=365,
                               raw_rows=raw_rows)
        return doc, render_xlsx, ".xlsx"
    raise SystemExit(f"unknown scenario {name!r}")


def run_one(name: str, raw_rows: int) -> dict[str, object]:
    doc, render, suffix = _scenario(name, raw_rows)
    rss_before = _rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}{suffix}"
        started, cpu_started = time.perf_counter(), time.process_time()
        render(doc, out)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        size = out.stat().st_size
        traced = None
        if suffix == ".pdf":  # tracing slows spreadsheet writing several-fold
            tracemalloc.start()
            render(doc, out)
            traced = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    return {
        "scenario": name,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "rss_peak_mb": round(_rss_mb(), 1),
        "rss_before_render_mb": round(rss_before, 1),
        "traced_peak_mb": None if traced is None else round(traced, 1),
        "output_mb": round(size / 2**20, 2),
        "rows": len(doc.sections[0].rows) if doc.sections else 0,  # type: ignore[union-attr]
        "raw_rows": doc.raw.count if doc.raw else 0,
        "aim": AIMS[name],
    }


def run_api(days: int) -> dict[str, object]:
    import httpx

    from scripts.bench.report_plant import served_plant

    started = time.perf_counter()
    with served_plant(MACHINES, days) as plant:
        seeded = time.perf_counter() - started
        day = plant.last_day - timedelta(days=14)
        month = (plant.last_day - timedelta(days=29), plant.last_day)
        requests = {
            "shift_pdf": ("shifts", {"date": day.isoformat(), "shift": "Night", "format": "pdf"}),
            "monthly_xlsx": ("shifts", {"from": month[0].isoformat(), "to": month[1].isoformat(), "format": "xlsx"}),
        }
        out: dict[str, object] = {"scenario": "api", "seed_seconds": round(seeded, 1), "records": plant.rows,
                                  "days": days, "aim": AIMS["api"]}
        with httpx.Client(base_url=plant.url, headers=plant.headers, timeout=900) as http:
            for name, (topic, params) in requests.items():
                times, size = [], 0
                for _ in range(3 if name == "shift_pdf" else 1):
                    t0 = time.perf_counter()
                    r = http.get(f"/api/v1/reports/{topic}", params={"site_id": plant.site_id, **params})
                    r.raise_for_status()
                    times.append(time.perf_counter() - t0)
                    size = len(r.content)
                out[name] = {"seconds": round(min(times), 2), "mb": round(size / 2**20, 2)}
        out["rss_peak_mb"] = round(_rss_mb(), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(AIMS), help="run a single scenario")
    parser.add_argument("--raw-rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365, help="days of shifts seeded for the api scenario")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_api(args.days) if args.child == "api" else run_one(args.child, args.raw_rows)
        print(json.dumps(result))
        return
    for name in [args.only] if args.only else list(AIMS):
        cmd = [sys.executable, "-m", "scripts.bench.reports", "--child", name, "--raw-rows", str(args.raw_rows),
               "--days", str(args.days)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        if name == "api":
            print(f"api           seeded {r['records']:,} records over {r['days']} days in {r['seed_seconds']} s;  "
                  f"shift PDF {r['shift_pdf']['seconds']:.2f} s ({r['shift_pdf']['mb']} MB)  "
                  f"monthly XLSX {r['monthly_xlsx']['seconds']:.2f} s ({r['monthly_xlsx']['mb']} MB)  "
                  f"peak RSS {r['rss_peak_mb']} MB (server and client)  aim {r['aim']}", flush=True)
            continue
        traced = "" if r["traced_peak_mb"] is None else f", traced heap {r['traced_peak_mb']} MB"
        print(f"{name:13} {r['seconds']:7.2f} s (CPU {r['cpu_seconds']:.2f} s)  "
              f"peak RSS {r['rss_peak_mb']:7.1f} MB "
              f"(before render {r['rss_before_render_mb']} MB{traced})  "
              f"rows {r['rows']:,} raw {r['raw_rows']:,}  file {r['output_mb']} MB  "
              f"aim {r['aim']}", flush=True)


if __name__ == "__main__":
    main()
