"""`factoryos serve --workers 2`: both workers answer on one port, exactly one polls machines
and runs the backup schedule, and when that one dies its replacement takes the duties over."""

from __future__ import annotations

import os
import signal
from functools import partial
from pathlib import Path

import httpx
import pytest

from scripts.drills.stack import ServerProcess, child_pids, scratch_dir
from server.workers import DUTY_LOCK
from tests.integrations.own_database import own_database
from tests.waiting import until

pytestmark = pytest.mark.slow  # two server processes and a worker killed: tens of seconds


def _workers(server: ServerProcess) -> set[int]:
    """uvicorn's worker processes (not multiprocessing's resource tracker)."""
    found = set()
    for pid in child_pids(server.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            found.add(pid)
    return found


_until = partial(until, timeout=60.0)  # server processes start slowly on a loaded host


def _two(workers: set[int]) -> set[int] | None:
    return workers if len(workers) == 2 else None


def _holder(path: Path, among: set[int]) -> int | None:
    """The worker holding the flock on `path`, read from /proc/locks (probing by taking the
    lock could make a starting worker miss it)."""
    try:
        inode = path.stat().st_ino
    except FileNotFoundError:
        return None
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].endswith(f":{inode}"):
            pid = int(fields[4])
            if pid in among:
                return pid
    return None


def test_two_workers_answer_and_one_of_them_has_the_duties(pg) -> None:
    # A database of its own: the session server holds the duties of the shared one.
    with own_database(pg) as own, scratch_dir("factoryos-workers-") as data:
        db_urls = own.urls
        server = ServerProcess(db_urls.app, data, workers=2, env={"FACTORYOS_LOG_LEVEL": "info"}).start()
        try:
            workers = _until(lambda: _two(_workers(server)), "two workers")
            for pid in workers:  # each knows it is one of two (an API restore needs a single process)
                assert b"FACTORYOS_WORKERS=2" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            with httpx.Client(base_url=server.url, timeout=10) as client:
                for _ in range(20):  # fresh connections, which the kernel hands to either worker
                    r = client.get("/api/v1/system/health", headers={"Connection": "close"})
                    assert r.status_code == 200, r.text
            duties = data / "server" / DUTY_LOCK
            poller = data / "server" / "connectivity" / "poller.lock"
            first = _until(lambda: _holder(duties, workers), "a worker with the duties")
            assert _until(lambda: _holder(poller, workers), "a polling worker") == first
            # Each worker says which it is once it has started; the second may still be starting.
            log = _until(lambda: (text := server.log_path.read_text()).count("serves requests only") and text,
                         "the other worker's start")
            assert log.count("polls machines and runs scheduled backups") == 1
            assert log.count("serves requests only") == 1

            os.kill(first, signal.SIGKILL)  # uvicorn starts a replacement, which takes the duties over
            replaced = _until(lambda: _two(_workers(server) - {first}), "a replacement worker")
            second = _until(lambda: _holder(duties, replaced), "the duties taken over")
            assert second != first
            assert _until(lambda: _holder(poller, replaced), "the poller taken over") == second
            with httpx.Client(base_url=server.url, timeout=10) as client:
                assert client.get("/api/v1/system/health").status_code == 200
        finally:
            server.stop()
