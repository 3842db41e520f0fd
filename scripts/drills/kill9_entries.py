"""Fault drill: kill -9 the API server in the middle of operator entries.

`--entries` production entries (default 1,000) are sent by one operator terminal per
machine, each entry with its own Idempotency-Key and retried with the same key on a
transport error or 5xx until it gets an answer (a real terminal's outbox does the
same). While they are in flight the server process gets SIGKILL `--kills` times and is
restarted on the same port; PostgreSQL keeps running, as it would behind a crashed
API process.

Entries use the server's default period (from the machine's previous entry to now), so
a retry that was stored twice would be accepted as a second row, not rejected as an
overlap: the drill can see a duplicate. At the end it counts, behind the app's back
(superuser, no RLS), the rows per key: every entry must be stored exactly once.

Run: python -m scripts.drills.kill9_entries [--entries 1000] [--machines 20] [--kills 2]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, pool, text

from factoryos.db.engine import DatabaseUrls
from scripts.drills.plant import Terminal, new_company, seed_plant
from scripts.drills.stack import ServerProcess, embedded_database, scratch_dir, superuser_url

GIVE_UP_AFTER = 120.0  # seconds one entry may keep retrying (the server restarts in a few)


@dataclass
class Outcome:
    entries: int
    kills: int
    answered: int = 0
    retries: int = 0
    replays: int = 0
    failures: list[str] = field(default_factory=list)
    stored: int = 0
    stored_keys: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    kill_at: list[int] = field(default_factory=list)

    @property
    def exactly_once(self) -> bool:
        return (not self.failures and not self.duplicates and not self.missing
                and self.stored == self.entries == self.answered)

    def summary(self) -> str:
        return (f"{self.entries} entries, {self.kills} kill -9 (after {self.kill_at} answers): "
                f"{self.answered} answered, {self.retries} retries, {self.replays} idempotent replays; "
                f"stored {self.stored} rows for {self.stored_keys} keys, duplicates {len(self.duplicates)}, "
                f"missing {len(self.missing)}, failures {len(self.failures)} → "
                f"{'EXACTLY ONCE' if self.exactly_once else 'FAILED'}")


class Sender(threading.Thread):
    """One terminal: its machine's entries in order, each retried until answered."""

    def __init__(self, url: str, terminal: Terminal, keys: list[str], outcome: Outcome, lock: threading.Lock,
                 answered: threading.Semaphore) -> None:
        super().__init__(daemon=True)
        self.url, self.terminal, self.keys = url, terminal, keys
        self.outcome, self.lock, self.answered = outcome, lock, answered

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            for key in self.keys:
                self.send(client, key)

    def send(self, client: httpx.Client, key: str) -> None:
        body = {"machine_id": self.terminal.machine_id, "good_quantity": 1, "job_ref": key}
        headers = {**self.terminal.operator.headers, "Idempotency-Key": key}
        deadline = time.monotonic() + GIVE_UP_AFTER
        attempt = 0
        while True:
            attempt += 1
            try:
                r = client.post("/api/v1/production/entry", json=body, headers=headers)
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code < 500:
                with self.lock:
                    self.outcome.retries += attempt - 1
                    if r.status_code == 201:
                        self.outcome.answered += 1
                        self.outcome.replays += r.headers.get("idempotent-replayed") == "true"
                    else:
                        self.outcome.failures.append(f"{key}: {r.status_code} {r.text[:200]}")
                self.answered.release()
                return
            if time.monotonic() > deadline:
                with self.lock:
                    self.outcome.failures.append(f"{key}: no answer within {GIVE_UP_AFTER:.0f} s")
                self.answered.release()
                return
            time.sleep(min(0.5, 0.05 * 2 ** min(attempt, 4)))  # the restart takes a few seconds


def run_drill(urls: DatabaseUrls, data_dir, *, entries: int = 1000, machines: int = 20, kills: int = 2,
              database: str = "factoryos", log=print) -> Outcome:
    outcome = Outcome(entries, kills)
    server = ServerProcess(urls.app, data_dir).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            owner = new_company(client, "Kill Nine Works")
            # A terminal's next entry follows within milliseconds: the ideal rate must allow a part in that.
            plant = seed_plant(client, owner, machines=machines, terminals=machines, cycle_seconds="0.000001")
        run = f"k9-{owner.tenant_id[:8]}"
        keys = [f"{run}-{i:05d}" for i in range(entries)]
        lock, answered = threading.Lock(), threading.Semaphore(0)
        senders = [Sender(server.url, t, keys[i::machines], outcome, lock, answered)
                   for i, t in enumerate(plant.terminals)]
        for s in senders:
            s.start()
        done = 0
        for k in range(1, kills + 1):
            while done < entries * k // (kills + 1):
                answered.acquire()
                done += 1
            outcome.kill_at.append(done)
            server.kill9()
            log(f"kill -9 after {done} answered entries; restarting")
            server.start()
        for s in senders:
            s.join(timeout=GIVE_UP_AFTER + 30)
    finally:
        server.stop()
    _count(urls, database, owner.tenant_id, keys, outcome)
    return outcome


def _count(urls: DatabaseUrls, database: str, tenant_id: str, keys: list[str], outcome: Outcome) -> None:
    engine = create_engine(superuser_url(urls, database), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select job_ref from production_entries where tenant_id = :t"),
                                {"t": tenant_id}).scalars().all()
    finally:
        engine.dispose()
    per_key = Counter(rows)
    outcome.stored = len(rows)
    outcome.stored_keys = len(per_key)
    outcome.duplicates = {k: n for k, n in per_key.items() if n > 1}
    outcome.missing = [k for k in keys if k not in per_key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--machines", type=int, default=20, help="terminals sending at once (one per machine)")
    parser.add_argument("--kills", type=int, default=2, help="how many times to kill -9 the server")
    args = parser.parse_args()
    with scratch_dir("factoryos-kill9-") as data, embedded_database(data) as urls:
        started = time.perf_counter()
        outcome = run_drill(urls, data, entries=args.entries, machines=args.machines, kills=args.kills)
        print(outcome.summary())
        print(f"drill took {time.perf_counter() - started:.0f} s")
        for failure in outcome.failures[:10]:
            print(f"  failure: {failure}")
        for key, n in list(outcome.duplicates.items())[:10]:
            print(f"  duplicate: {key} stored {n} times")
    raise SystemExit(0 if outcome.exactly_once else 1)


if __name__ == "__main__":
    main()
