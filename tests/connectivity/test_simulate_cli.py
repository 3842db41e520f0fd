"""`factoryos simulate`: starts real servers, exports settings the poller accepts, fails clearly."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from typer.testing import CliRunner

from cli.simulate import app
from factoryos.connectivity.machine_config import ModbusMachine, parse_machine_configs
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
