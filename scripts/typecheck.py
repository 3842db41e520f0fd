#!/usr/bin/env python3
"""Run mypy over the code base and hold each package to its recorded error count.

The KPI core and the database layer are strict (their baseline is the few errors left in
files still being reworked, and it may only go down); elsewhere the count per package is a
baseline from when the checker was introduced. A new error fails; fixing errors lowers the
figures, and `--update` writes the lower figures back. The counts never go up in the file.

    python scripts/typecheck.py            # check, print the figures
    python scripts/typecheck.py --update   # after fixing errors: record the lower counts
    python scripts/typecheck.py --record   # only when mypy, a stub or the config is upgraded
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scripts" / "typecheck_baseline.json"
TARGETS = ("factoryos", "server", "cli", "installer")
# Most specific first: an error is counted in the first bucket whose prefix matches its path.
# Migrations are frozen history, checked without the strict flags, so they count in "factoryos".
BUCKETS = ("factoryos/db/migrations/", "factoryos/kpi/", "factoryos/db/", "factoryos/", "server/", "cli/",
           "installer/")
BUCKET_NAME = {"factoryos/db/migrations/": "factoryos"}
ERROR = re.compile(r"^(?P<path>[^:\s]+\.pyi?):\d+(?::\d+)?: error: ")


def bucket(path: str) -> str:
    for prefix in BUCKETS:
        if path.startswith(prefix):
            return BUCKET_NAME.get(prefix, prefix.rstrip("/"))
    return "other"


def run_mypy() -> tuple[Counter[str], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--no-pretty", "--show-error-codes", *TARGETS],
        cwd=ROOT, capture_output=True, text=True,
    )
    # 0: clean, 1: errors found; anything else is mypy itself failing (bad config, crash).
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"mypy failed to run (exit {proc.returncode})")
    counts: Counter[str] = Counter()
    for line in proc.stdout.splitlines():
        match = ERROR.match(line.replace("\\", "/"))
        if match:
            counts[bucket(match["path"])] += 1
    return counts, proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="record counts that went down")
    parser.add_argument("--show", action="store_true", help="print mypy's messages too")
    parser.add_argument("--record", action="store_true",
                        help="write the current counts, higher ones too (after upgrading mypy or a stub)")
    args = parser.parse_args(argv)

    baseline: dict[str, int] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    counts, output = run_mypy()
    if args.show:
        print(output, end="")

    names = sorted(set(baseline) | set(counts))
    worse = [name for name in names if counts[name] > baseline.get(name, 0)]
    print(f"{'package':<16}{'baseline':>9}{'now':>6}")
    for name in names:
        now, allowed = counts[name], baseline.get(name, 0)
        lower = "  lower: recorded" if args.update else "  lower: run with --update"
        mark = "  NEW ERRORS" if now > allowed else (lower if now < allowed else "")
        print(f"{name:<16}{allowed:>9}{now:>6}{mark}")
    print(f"{'total':<16}{sum(baseline.values()):>9}{sum(counts.values()):>6}")

    if args.record:
        BASELINE.write_text(json.dumps(dict(sorted({**dict.fromkeys(baseline, 0), **counts}.items())), indent=2) + "\n")
        print(f"\nrecorded the current counts in {BASELINE.relative_to(ROOT)}")
        return 0
    if worse:
        print("\nmypy errors above the baseline in: " + ", ".join(worse)
              + ". Fix them (run with --show for the messages); the baseline only goes down.")
        for line in output.splitlines():
            match = ERROR.match(line.replace("\\", "/"))
            if match and bucket(match["path"]) in worse:
                print(line)
        return 1
    if args.update:
        lowered = {name: min(counts[name], allowed) for name, allowed in baseline.items()}
        lowered.update({name: 0 for name in counts if name not in baseline})
        BASELINE.write_text(json.dumps(dict(sorted(lowered.items())), indent=2) + "\n")
        print(f"\nwrote {BASELINE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
