"""`factoryos simulate`: starts real servers, exports settings the poller accepts, fails clearly."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from typer.testing import CliRunner

from cli.simulate import app
from factoryos.connectivity.machine_config import ModbusMachine, parse_machine_configs
from factoryos.connectivity.simulator import Simulator
from tests.connectivity.support import free_port

runner = CliRunner()


def test_simulate_runs_and_exports_machine_settings(tmp_path: Path) -> None:
    export = tmp_path / "machines.json"
    port = free_port()
    result = runner.invoke(
        app,
        [
            "--machines",
            "7",
            "--protocol",
            "modbus",
            "--seed",
            "4",
            "--modbus-port",
            str(port),
            "--export",
            str(export),
            "--duration",
            "0.3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"127.0.0.1:{port}" in result.output and "(7 machines)" in result.output
    machines = parse_machine_configs(json.loads(export.read_text()))
    assert [m.machine_id for m in machines] == [f"SIM-{i:04d}" for i in range(1, 8)]
    assert all(isinstance(m, ModbusMachine) and m.endpoint.port == port for m in machines)


def test_a_faster_simulation_exports_the_cycle_it_runs_at(tmp_path: Path) -> None:
    """At `--speed 10` the machines make parts ten times faster than at 1: the exported ideal cycle is
    a tenth, or the poller registered from it would rate ten times its parts against it (OEE 1,000 %)."""
    runs = {}
    for speed in ("1", "10"):
        export = tmp_path / f"machines-{speed}.json"
        result = runner.invoke(app, ["--machines", "3", "--protocol", "modbus", "--seed", "4", "--modbus-port",
                                     str(free_port()), "--speed", speed, "--export", str(export), "--duration", "0.2"])
        assert result.exit_code == 0, result.output
        runs[speed] = {m.machine_id: m.ideal_cycle_time for m in parse_machine_configs(json.loads(export.read_text()))}
    assert runs["1"].keys() == runs["10"].keys() and len(runs["1"]) == 3
    for machine, ideal in runs["1"].items():
        assert ideal >= 2.0 and abs(runs["10"][machine] - ideal / 10) < 1e-6, (machine, ideal, runs["10"][machine])


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(
            app, ["--machines", "2", "--protocol", "modbus", "--modbus-port", str(port), "--duration", "0"]
        )
    assert result.exit_code == 1
    assert "cannot start the simulator" in result.output
    assert "Traceback" not in result.output


def test_bad_options_are_refused() -> None:
    result = runner.invoke(app, ["--machines", "0"])
    assert result.exit_code == 2 and "--machines" in result.output
    result = runner.invoke(app, ["--protocol", "profinet"])
    assert result.exit_code == 2 and "--protocol" in result.output


def _kept(path: Path) -> dict[str, tuple[int, int]]:
    machines = json.loads(path.read_text())["machines"]
    return {mid: (c["good"], c["reject"]) for mid, c in machines.items()}


def test_retained_counters_continue_in_the_next_run(tmp_path: Path) -> None:
    """`--retain`: a stopped and restarted simulator goes on from its counters, as a PLC does, so a
    poller's stored baselines still hold; without it every run starts from the seed's values."""
    retain = tmp_path / "plc" / "counters.json"
    seeded = {m.machine_id: (m.good, m.reject) for m in Simulator(3, protocol="modbus", seed=3, tick=None).machines}

    def run(duration: float) -> str:
        result = runner.invoke(app, ["--machines", "3", "--protocol", "modbus", "--seed", "3", "--modbus-port",
                                     str(free_port()), "--speed", "600", "--retain", str(retain),
                                     "--duration", str(duration)])
        assert result.exit_code == 0, result.output
        return result.output

    assert "0 of 3 machines resumed" in run(1.3)  # one tick: ten simulated minutes
    first = _kept(retain)
    assert set(first) == set(seeded) and sum(g for g, _ in first.values()) > sum(g for g, _ in seeded.values())
    assert "3 of 3 machines resumed" in run(0)  # started from the kept counters, stopped at once
    assert _kept(retain) == first
    run(1.3)
    after = _kept(retain)
    assert all(after[m][0] >= first[m][0] and after[m][1] >= first[m][1] for m in first)
    assert sum(g for g, _ in after.values()) > sum(g for g, _ in first.values())


def test_retain_naming_a_directory_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--machines", "1", "--protocol", "modbus", "--retain", str(tmp_path),
                                 "--duration", "0"])
    assert result.exit_code == 1
    assert "--retain names the directory" in result.output and "Traceback" not in result.output
