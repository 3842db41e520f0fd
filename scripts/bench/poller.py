"""Poller benchmark: how many machines one poller process polls on schedule, and how soon a
machine's state change shows in `/production/live`.

Processes (all on loopback, one embedded PostgreSQL in a temp directory):
  sim      N simulated machines (3 signals each plus an alarm code) ticking every second,
           half on OPC-UA servers, half on Modbus TCP gateways, `--per-server` machines
           behind each (one connection per server, so its requests go in sequence); it
           applies forced state changes read from stdin
  poller   the production runtime (`PollerRuntime`: reload, poll, spool, DbSink), as
           `factoryos poller` runs it; prints schedule punctuality, CPU and RSS
  server   `factoryos serve` with FACTORYOS_POLLER=0, for `/production/live`
  this     seeds one company (machines and connections), drives the trials, reads /live

For each N (1 Hz polls): the share of polls that start within 100 ms of their schedule
(aim ≥ 99 %), p50/p99/max lateness, poller CPU (% of one core) and RSS; then, on a small
site of its own, the latency from a forced state change in the simulator to
`/production/live` showing it (aim ≤ 2 s). The largest passing N is reported.

Run: python -m scripts.bench.poller [--sizes 500,1000,2000] [--duration 60] [--latency-trials 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import Engine, create_engine, pool, text

from scripts.drills.plant import new_company
from scripts.drills.stack import REPO_ROOT, ServerProcess, embedded_database, free_port, scratch_dir, superuser_url

SECRET = "bench-secret-" + "s" * 40
LATENCY_SITE_MACHINES = 8
STATE_OF_CODE = {1: "running", 2: "idle", 3: "planned_stop", 4: "unplanned_stop", 5: "setup"}
SIM_MAPPING = {"codes": {str(code): state for code, state in STATE_OF_CODE.items()}, "default": "unplanned_stop"}


# -- child: simulators ---------------------------------------------------------------------
async def run_sim(machines: int, per_server: int, export: Path) -> None:
    """Half the machines on OPC-UA servers, half on Modbus gateways, `per_server` machines behind
    each (one TCP connection per server; a plant has many PLCs, not one), all in this process."""
    import logging

    from factoryos.connectivity.simulator import Simulator

    logging.getLogger("asyncua").setLevel(logging.ERROR)
    groups: dict[str, list[Simulator]] = {"opcua": [], "modbus": []}
    for protocol, count in (("opcua", machines - machines // 2), ("modbus", machines // 2)):
        for server, first in enumerate(range(0, count, per_server)):
            groups[protocol].append(Simulator(
                min(per_server, count - first), protocol=protocol, seed=42 + server,  # type: ignore[arg-type]
                opcua_port=free_port(), modbus_port=free_port(), tick=1.0, id_prefix=f"{protocol[:2]}{server:02d}"))
    sims = groups["opcua"] + groups["modbus"]
    for sim in sims:
        await sim.start()
    import gc

    gc.freeze()  # the servers' address spaces are permanent: keep full collections from pausing them
    owner = {m.machine_id: sim for sim in sims for m in sim.machines}
    opcua_configs = [c for s in groups["opcua"] for c in s.machine_configs()]
    modbus_configs = [c for s in groups["modbus"] for c in s.machine_configs()]
    mixed = [c for pair in zip(opcua_configs, modbus_configs, strict=False) for c in pair]
    mixed += opcua_configs[len(modbus_configs):]  # OPC-UA has one more when N is odd
    export.write_text(json.dumps([c.model_dump(mode="json") for c in mixed]))
    _say({"ready": True, "servers": {p: len(g) for p, g in groups.items()}})
    cpu, wall = time.process_time(), time.monotonic()
    while line := await asyncio.to_thread(sys.stdin.readline):
        command = line.split()
        if command[0] == "force":
            await owner[command[1]].force_state(command[1], int(command[2]))
            _say({"forced": command[1], "at": time.time()})
        elif command[0] == "cpu":  # CPU share since the previous "cpu"
            _say({"cpu_pct": 100 * (time.process_time() - cpu) / (time.monotonic() - wall)})
            cpu, wall = time.process_time(), time.monotonic()
    for sim in sims:
        await sim.stop()


# -- child: poller -------------------------------------------------------------------------
def _proc_status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_poller(database_url: str, data_dir: Path, warmup: float, duration: float) -> None:
    import logging

    from factoryos.config import Settings
    from factoryos.connectivity.runtime import PollerRuntime, freeze_startup_heap
    from factoryos.connectivity.schedule import PollTiming

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key=SECRET)  # type: ignore[arg-type]
    runtime = PollerRuntime.from_settings(settings, settings.database_url or "")
    started = time.monotonic()
    await runtime.start()
    freeze_startup_heap()  # as `factoryos poller` and the server do
    assert runtime.poller is not None and runtime.forwarder is not None
    # Every machine's first state and health row make a burst of writes: wait it out.
    await asyncio.sleep(warmup)
    while runtime.forwarder.pending > 100 and time.monotonic() - started < 600:
        await asyncio.sleep(1)
    drained = time.monotonic() - started
    _say({"measuring": True})
    runtime.poller.timing = PollTiming()
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.sleep(duration)
    timing = runtime.poller.timing
    statuses = runtime.statuses()
    _say({
        "startup_s": drained,
        "machines": len(statuses),
        "failing": sum(1 for s in statuses if s.last_error is not None),
        "polls": timing.polls,
        "on_time_pct": 100 * (timing.polls - timing.late) / max(1, timing.polls),
        "p50_ms": 1000 * timing.percentile(0.5),
        "p99_ms": 1000 * timing.percentile(0.99),
        "max_ms": 1000 * timing.max_lateness,
        "cpu_pct": 100 * (time.process_time() - cpu) / (time.monotonic() - wall),
        "rss_mib": _proc_status("VmRSS"),
        "peak_rss_mib": _proc_status("VmHWM"),
        "pending_events": runtime.forwarder.pending,
        "sink_error": runtime.forwarder.last_error,
    })
    await asyncio.to_thread(sys.stdin.read)  # until the orchestrator is done with the trials
    await runtime.stop()


def _say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


# -- orchestrator --------------------------------------------------------------------------
class Child:
    def __init__(self, *args: str, log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "scripts.bench.poller", *args], cwd=REPO_ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any]:
        stdout: IO[str] | None = self.proc.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = stdout.readline()
            if line.startswith("{"):
                return json.loads(line)
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"child exited with {self.proc.returncode}; see {self.log.name}")
        raise TimeoutError("child did not answer")

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class HostCpu:
    """Share of all CPUs busy (any process) since creation, from /proc/stat: the machine is shared."""

    def __init__(self) -> None:
        self._start = self._sample()

    @staticmethod
    def _sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields), idle

    def busy_pct(self) -> float:
        total, idle = self._sample()
        dt, di = total - self._start[0], idle - self._start[1]
        return 100 * (dt - di) / dt if dt else float("nan")


def seed(superuser: Engine, tenant: str, configs: list[dict[str, Any]], sites: list[str]) -> list[str]:
    """One machine per simulated machine with its connection; the first few on `sites[1]`."""
    with superuser.begin() as conn:
        conn.execute(text("delete from machine_connections where tenant_id = :t"), {"t": tenant})
        ids = []
        for i, config in enumerate(configs):
            site = sites[1] if i < LATENCY_SITE_MACHINES else sites[0]
            mid = conn.execute(text(
                "insert into machines (tenant_id, site_id, name, code, ideal_cycle_seconds, status_mapping) "
                "values (:t, :s, :n, :c, :cycle, cast(:m as jsonb)) returning id"),
                {"t": tenant, "s": site, "n": config["machine_id"],
                 "c": f"{config['machine_id']}-{uuid.uuid4().hex[:4]}",
                 "cycle": config["ideal_cycle_time"], "m": json.dumps(SIM_MAPPING)}).scalar_one()
            endpoint = {k: v for k, v in config["endpoint"].items() if k != "password"}
            if "security" in endpoint:
                endpoint["security"] = {k: v for k, v in endpoint["security"].items() if k != "private_key_password"}
            conn.execute(text(
                "insert into machine_connections (tenant_id, machine_id, protocol, poll_interval, endpoint, signals) "
                "values (:t, :m, :p, 1.0, cast(:e as jsonb), cast(:s as jsonb))"),
                {"t": tenant, "m": mid, "p": config["protocol"], "e": json.dumps(endpoint),
                 "s": json.dumps(config["signals"])})
            ids.append(str(mid))
    return ids


def latency_trials(api: httpx.Client, owner_headers: dict[str, str], site: str, sim: Child,
                   machine_ids: list[str], sim_ids: list[str], trials: int) -> list[float]:
    latencies = []
    for trial in range(trials):
        index = trial % len(machine_ids)
        rows = {m["machine_id"]: m for m in api.get("/api/v1/production/live", params={"site_id": site},
                                                      headers=owner_headers).json()["machines"]}
        current = rows[machine_ids[index]]["state"]
        code = 4 if current != "unplanned_stop" else 5
        sim.send(f"force {sim_ids[index]} {code}")
        forced_at = sim.receive(10)["at"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            r = api.get("/api/v1/production/live", params={"site_id": site}, headers=owner_headers)
            if {m["machine_id"]: m for m in r.json()["machines"]}[machine_ids[index]]["state"] == STATE_OF_CODE[code]:
                latencies.append(time.time() - forced_at)
                break
            time.sleep(0.02)
        else:
            latencies.append(float("inf"))
        time.sleep(0.3)
    return latencies


def run_size(n: int, args: argparse.Namespace, tmp: Path, api: httpx.Client, superuser: Engine, app_url: str,
             owner: Any, sites: list[str]) -> dict[str, Any]:
    export = tmp / f"sim-{n}.json"
    logs = args.logs or tmp
    logs.mkdir(parents=True, exist_ok=True)
    sim = Child("sim", str(n), str(args.per_server), str(export), log=logs / f"sim-{n}.log")
    poller = None
    try:
        servers = sim.receive(600)["servers"]
        configs = json.loads(export.read_text())
        machine_ids = seed(superuser, owner.tenant_id, configs, sites)
        poller = Child("poll", app_url, str(tmp / f"poller-{n}"), str(args.warmup), str(args.duration),
                       log=logs / f"poller-{n}.log")
        poller.receive(args.warmup + 660)  # measuring starts
        sim.send("cpu")
        sim.receive(10)
        busy = HostCpu()
        stats = poller.receive(args.duration + 120)
        stats["host_busy_pct"] = busy.busy_pct()
        sim.send("cpu")
        stats["sim_cpu_pct"] = sim.receive(10)["cpu_pct"]
        count = LATENCY_SITE_MACHINES
        latencies = latency_trials(api, owner.headers, sites[1], sim, machine_ids[:count],
                                   [c["machine_id"] for c in configs[:count]], args.latency_trials)
        stats["latency_s"] = latencies
        stats["servers"] = servers
        return stats
    finally:
        if poller is not None:
            poller.close()
        sim.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500,1000,2000", help="Machine counts to try (half OPC-UA, half Modbus).")
    parser.add_argument("--duration", type=float, default=60, help="Seconds measured per size.")
    parser.add_argument("--warmup", type=float, default=15, help="Seconds before measuring.")
    parser.add_argument("--latency-trials", type=int, default=8, help="Forced state changes per size.")
    parser.add_argument("--per-server", type=int, default=100,
                        help="Machines behind one OPC-UA server or Modbus gateway (one connection each).")
    parser.add_argument("--logs", type=Path, help="Keep the child processes' logs in this directory.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"poller benchmark: sizes {sizes}, {args.duration:g} s measured after {args.warmup:g} s warm-up, "
          f"1 Hz polls, {os.cpu_count()} CPUs (shared with the simulators, PostgreSQL and the API server)")
    results: dict[int, dict[str, Any]] = {}
    with scratch_dir("factoryos-bench-poller-") as tmp, embedded_database(tmp / "db") as urls:
        superuser = create_engine(superuser_url(urls), poolclass=pool.NullPool)
        with ServerProcess(urls.app, tmp, env={"FACTORYOS_POLLER": "0"}) as server, \
                httpx.Client(base_url=server.url, timeout=30) as api:
            owner = new_company(api, "Bench Works")
            sites = []
            for name in ("Main plant", "Latency cell"):
                site = api.post("/api/v1/sites", json={"name": name, "code": f"S-{uuid.uuid4().hex[:6]}",
                                                       "timezone": "UTC"}, headers=owner.headers).json()
                api.post("/api/v1/shifts", json={"site_id": site["id"], "name": "Day and night", "start": "00:00",
                                                 "end": "00:00"}, headers=owner.headers).raise_for_status()
                sites.append(site["id"])
            for n in sizes:
                stats = run_size(n, args, tmp, api, superuser, urls.app, owner, sites)
                results[n] = stats
                lat = sorted(stats["latency_s"])
                print(f"N={n:5d} ({n - n // 2} OPC-UA on {stats['servers']['opcua']} servers + {n // 2} Modbus "
                      f"on {stats['servers']['modbus']} gateways): polls {stats['polls']}, "
                      f"on time {stats['on_time_pct']:.2f} %, lateness p50 {stats['p50_ms']:.0f} ms "
                      f"p99 {stats['p99_ms']:.0f} ms max {stats['max_ms']:.0f} ms; poller CPU {stats['cpu_pct']:.0f} % "
                      f"of a core, RSS {stats['rss_mib']:.0f} MiB (peak {stats['peak_rss_mib']:.0f}); "
                      f"failing {stats['failing']}, events waiting {stats['pending_events']}; "
                      f"simulators CPU {stats['sim_cpu_pct']:.0f} %, host CPUs busy {stats['host_busy_pct']:.0f} %; "
                      f"start-up burst stored in {stats['startup_s']:.0f} s", flush=True)
                print(f"        state change → /production/live: median {statistics.median(lat):.2f} s, "
                      f"max {lat[-1]:.2f} s over {len(lat)} trials", flush=True)
        superuser.dispose()
    passing = [n for n, s in results.items() if s["on_time_pct"] >= 99 and s["failing"] == 0]
    print(f"largest N with ≥ 99 % of polls within 100 ms of schedule: {max(passing) if passing else 'none'}")


def child() -> None:
    role = sys.argv[1]
    if role == "sim":
        asyncio.run(run_sim(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])))
    elif role == "poll":
        asyncio.run(run_poller(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("sim", "poll"):
        child()
    else:
        main()
