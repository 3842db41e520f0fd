"""`factoryos demo`: the whole system on this machine in one command.

Embedded PostgreSQL, 24 simulated PLCs (12 OPC-UA, 12 Modbus TCP), the server with its
poller on 127.0.0.1, a seeded company, and the TUI signed in as the demo supervisor.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import shutil
import signal
import socket
import threading
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.table import Table

from factoryos.config import Settings
from factoryos.db.engine import database
from factoryos.demo import credentials
from factoryos.demo.dataset import machine_codes
from factoryos.demo.provision import Provisioner
from factoryos.demo.simulators import SimulatorThread
from cli.output import console, fail, ok

DEFAULT_PORT = 8080
FAULTED_MACHINE = 3  # index in machine_codes(): held in a fault to show a downtime alert
LAST_POLL = 1.5  # s: a poll interval and a bit, for the poller to read the held counters


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # As the servers bind: a port whose last connections linger in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _simulator_ports(path: Path) -> tuple[int, int]:
    """The simulators' ports of the last run when still free, so the stored connection settings
    match at once (the poller would otherwise warn about the old ports until they are updated)."""
    try:
        ports = json.loads(path.read_text())
        opcua, modbus = int(ports["opcua"]), int(ports["modbus"])
        if opcua != modbus and _port_free(opcua) and _port_free(modbus):
            return opcua, modbus
    except (OSError, ValueError, KeyError, TypeError):
        pass
    opcua = modbus = _free_port()
    while modbus == opcua:
        modbus = _free_port()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"opcua": opcua, "modbus": modbus}))
    return opcua, modbus


def _seconds(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*", text)
    if not m:
        fail(f"--for: {text!r} is not a duration like 20s, 5m or 1h")
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def _log_to(path: Path | None) -> None:
    """Warnings and errors of the server, its poller and the simulators: on the terminal when
    headless; in `path` while the dashboard draws on the terminal (a line written there lands across
    its screen, a traceback over the tiles)."""
    handler: logging.Handler = logging.StreamHandler()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=2, encoding="utf-8")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=[handler], force=True)


class _Server:
    def __init__(self, app, port: int, log_file: Path | None) -> None:
        import uvicorn

        # No logging config of uvicorn's own (it would write to the terminal): its loggers go where ours do.
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    log_config=None))
        self.thread = threading.Thread(target=self.server.run, name="demo-server", daemon=True)
        self.log_file = log_file

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                fail(f"the demo server did not start; see {self.log_file or 'the log lines above'}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def _summary(http: httpx.Client, prov: Provisioner) -> Table:
    table = Table("site", "machines", "running", "stopped", "good", "rejects", "OEE (shift)", "awaiting reason")
    for site in prov.load_plant().sites.values():
        live = http.get("/api/v1/production/live", params={"site_id": site["id"]}, headers=prov.headers("supervisor")).json()
        machines = live["machines"]
        # The site's OEE over the running shift: times and counts summed, then divided (never an
        # average of the machines' ratios).
        shift = next((m["shift"] for m in machines if m.get("shift")), None)
        oee = None
        if shift:
            r = http.get("/api/v1/kpis/oee", headers=prov.headers("supervisor"), params={
                "scope": "site", "id": site["id"], "from": shift["starts_at"], "to": live["at"]})
            oee = r.json()["kpis"]["oee"] if r.status_code == 200 else None
        table.add_row(
            site["name"],
            str(len(machines)),
            str(sum(m["state"] == "running" for m in machines)),
            str(sum(m["state"] in ("unplanned_stop", "idle", "offline") for m in machines)),
            str(sum(m["good_count"] for m in machines)),
            str(sum(m["reject_count"] for m in machines)),
            f"{oee:.0%}" if oee is not None else "n/a",
            str(sum(len(m["pending_downtime"]) for m in machines)),
        )
    return table


def demo(
    reset: Annotated[bool, typer.Option("--reset", help="Delete the demo data and start over.")] = False,
    headless: Annotated[bool, typer.Option("--headless", help="No TUI: run, print a summary, exit.")] = False,
    run_for: Annotated[str | None, typer.Option("--for", help="Stop after this long, e.g. 20s or 5m.")] = None,
    port: Annotated[int, typer.Option(help="Server port on 127.0.0.1 (a free one if busy).")] = DEFAULT_PORT,
    speed: Annotated[float, typer.Option(
        help="How many times faster than real life stops, breakdowns and changeovers come and go; parts "
             "are made at the machines' rated cycle at any speed, so OEE stays real.", min=0.1, max=60)] = 1.0,
) -> None:
    """Run FactoryOS with simulated machines and open the dashboard."""
    from factoryos.identity.admin import set_installation_admin
    from server.app import create_app

    base = Settings()
    data_dir = base.data_dir / "demo"
    if reset and data_dir.exists():
        shutil.rmtree(data_dir)
        ok(f"demo data removed from {data_dir}")
    settings = Settings(data_dir=data_dir, host="127.0.0.1", port=port)
    log_file = None if headless else data_dir / "demo.log"
    _log_to(log_file)
    # The simulators run without OPC-UA security on purpose; their warnings would bury the summary.
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    if not _port_free(port):
        port = _free_port()
        console.print(f"[yellow]port {settings.port} is busy; using {port}[/]")
    url = f"http://127.0.0.1:{port}"
    logins = credentials.load_or_create(data_dir / "demo-credentials.json")
    stop = threading.Event()
    _stop_on_signals(stop)

    console.print("starting the embedded PostgreSQL…")
    with database(settings, prepare=True) as urls:
        opcua_port, modbus_port = _simulator_ports(data_dir / "simulator-ports.json")
        sims = SimulatorThread(len(machine_codes()), opcua_port=opcua_port, modbus_port=modbus_port, speed=speed,
                               retain=data_dir / "simulator-counters.json")
        server = None
        try:
            with console.status("starting 24 simulated PLCs (OPC-UA and Modbus TCP)…"):
                sim_configs = sims.start()
            app = create_app(settings, urls.app, poller=True)
            server = _Server(app, port, log_file)
            with console.status("starting the server and its poller…"):
                server.start()
            with httpx.Client(base_url=url, timeout=30) as http:
                prov = Provisioner(http, logins)
                with console.status("loading the demo plant…"):
                    if prov.already_seeded():
                        plant = prov.load_plant()
                    else:
                        plant = prov.seed(sim_configs)
                        # This machine is the demo's host: its owner runs backups and the license.
                        with app.state.engine.begin() as conn:
                            set_installation_admin(conn, email=logins["manager"].email, on=True)
                    prov.connect(plant, sim_configs)
                    prov.plan(plant, date.today())
                    prov.login("supervisor")
                sims.fault(FAULTED_MACHINE)
                _print_welcome(data_dir, url, logins, "Ctrl+C" if headless else "Ctrl+Q in the dashboard", log_file)
                if speed != 1:
                    console.print(f"speed {speed:g}: stops and changeovers come and go {speed:g}× as fast; parts "
                                  "are made at each machine's rated cycle, so OEE stays real.", soft_wrap=True)
                if headless:
                    seconds = _seconds(run_for) if run_for else None
                    deadline = time.monotonic() + seconds if seconds else None
                    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                        stop.wait(0.5)
                    console.print(_summary(http, prov))
                else:
                    _run_tui(url, logins["supervisor"], data_dir / "tui", run_for, stop)
        except KeyboardInterrupt:
            pass
        finally:
            with console.status("stopping…"):
                if server is not None:
                    # The PLCs stop making parts first and the poller reads them once more: the stored
                    # baselines then equal the kept counters, and the next run counts from both.
                    sims.hold()
                    time.sleep(LAST_POLL)
                    server.stop()
                sims.stop()
    ok("demo stopped; the data is kept (`factoryos demo --reset` starts over)")


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (a service manager) and SIGHUP (the terminal closed) stop the demo as Ctrl+C does:
    the PLCs' counters kept, the server and the embedded PostgreSQL stopped, nothing left running.
    Headless, the wait loop sees `stop` and prints its summary; the TUI leaves when it is set."""

    terminal = [fd for fd in (1, 2) if os.isatty(fd)]  # asked now: a terminal that hung up is no tty

    def handler(signum: int, frame: object) -> None:
        for sig in (signal.SIGTERM, signal.SIGHUP):  # once: a second signal must not cut the stop short
            signal.signal(sig, signal.SIG_IGN)
        if signum == signal.SIGHUP:
            _detach(terminal)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def _detach(terminal: list[int]) -> None:
    """The terminal is gone: what would be written to it (the TUI leaving, "stopping…") goes nowhere,
    instead of failing the stop half-way with an I/O error."""
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in terminal:
            os.dup2(sink, fd)
    finally:
        os.close(sink)


def _print_welcome(data_dir: Path, url: str, logins: dict[str, credentials.DemoLogin], stop_key: str,
                   log_file: Path | None) -> None:
    console.print(f"[bold]FactoryOS demo[/] running at {url}  (data: {data_dir})", soft_wrap=True)
    if log_file is not None:
        console.print(f"Warnings and errors go to {log_file}.", soft_wrap=True)
    table = Table("who", "email", "password", "role")
    table.columns[1].overflow = "fold"
    for login in logins.values():
        table.add_row(login.display_name, login.email, login.password, login.role)
    console.print(table)
    console.print(f"From another terminal: [bold]factoryos tui --server {url}[/]   {stop_key} stops the demo.",
                  soft_wrap=True)


def _run_tui(url: str, login: credentials.DemoLogin, state_dir: Path, run_for: str | None,
             stop: threading.Event) -> None:
    from tui.app import run_signed_in

    run_signed_in(url, login.email, login.password, state_dir=state_dir,
                  exit_after=_seconds(run_for) if run_for else None, stop=stop)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
