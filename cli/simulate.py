"""`factoryos simulate`: simulated machines behind real OPC-UA and Modbus TCP servers.

Register with `app.add_typer(simulate.app, name="simulate")` (options live on the
callback, so `factoryos simulate --machines 50` works) or `simulate.register(app)`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.output import console, fail, ok

app = typer.Typer(
    help="Run simulated machines on OPC-UA and Modbus TCP servers (for demos and tests).",
    no_args_is_help=False,
)


class ProtocolChoice(StrEnum):
    opcua = "opcua"
    modbus = "modbus"
    both = "both"


@app.callback(invoke_without_command=True)
def simulate(
    machines: Annotated[
        int, typer.Option("--machines", "-n", min=1, max=20_000, help="Number of simulated machines.")
    ] = 10,
    protocol: Annotated[
        ProtocolChoice, typer.Option(help="Servers to run; 'both' alternates machines between them.")
    ] = ProtocolChoice.both,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same machines and cycles.")] = 1,
    opcua_port: Annotated[int, typer.Option(min=1, max=65535, help="OPC-UA server port.")] = 4840,
    modbus_port: Annotated[int, typer.Option(min=1, max=65535, help="Modbus TCP server port.")] = 5020,
    host: Annotated[str, typer.Option(help="Address the servers listen on.")] = "127.0.0.1",
    speed: Annotated[float, typer.Option(min=0.1, max=3600, help="Simulated seconds per real second.")] = 1.0,
    export: Annotated[
        Path | None, typer.Option(help="Write the machines' connection settings to this JSON file.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds (default: until Ctrl+C).")
    ] = None,
    retain: Annotated[
        Path | None,
        typer.Option(help="Keep the part counters in this file across runs, as a PLC's retentive memory does "
                          "(default: every run starts from the seed's values)."),
    ] = None,
) -> None:
    """Run N simulated machines until interrupted."""
    _run(
        machines=machines,
        protocol=protocol.value,
        seed=seed,
        opcua_port=opcua_port,
        modbus_port=modbus_port,
        host=host,
        speed=speed,
        export=export,
        duration=duration,
        retain=retain,
    )


def register(parent: typer.Typer) -> None:
    """Alternative to add_typer: `factoryos simulate` as a plain command."""
    parent.command("simulate", help="Run simulated machines on OPC-UA and Modbus TCP servers.")(simulate)


def _machines(count: int) -> str:
    return f"{count} machine" + ("" if count == 1 else "s")


def _run(
    *,
    machines: int,
    protocol: str,
    seed: int,
    opcua_port: int,
    modbus_port: int,
    host: str,
    speed: float,
    export: Path | None,
    duration: float | None,
    retain: Path | None = None,
) -> None:
    from factoryos.connectivity.simulator import Simulator

    if retain is not None and retain.is_dir():
        fail(f"--retain names the directory {retain}: give a file to keep the counters in")
    # asyncua warns about its own defaults (no signing policy, session timeouts): noise here.
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    sim = Simulator(
        machines,
        protocol=protocol,  # type: ignore[arg-type]
        seed=seed,
        host=host,
        opcua_port=opcua_port,
        modbus_port=modbus_port,
        speed=speed,
        # Kept every tick, so even after a kill the file holds no less than a poller can have read:
        # a counter that came back below a stored baseline would be taken for a PLC reset.
        retain=retain,
        retain_every=1.0,
    )

    async def main() -> None:
        with console.status(f"Starting {machines} simulated machines…"):
            try:
                await sim.start()
            except (OSError, RuntimeError) as exc:
                await sim.stop()
                fail(f"cannot start the simulator: {exc}")
        try:
            if export is not None:
                configs = [c.model_dump(mode="json") for c in sim.machine_configs()]
                try:
                    export.write_text(json.dumps(configs, indent=2) + "\n", encoding="utf-8")
                except OSError as exc:
                    fail(f"cannot write {export}: {exc.strerror}")
                ok(f"Wrote {len(configs)} machine settings to {export}")
            if sim.opcua is not None:
                ok(f"OPC-UA  {sim.opcua.url}  ({_machines(len(sim.opcua.machines))})")
            if sim.modbus is not None:
                units = sorted({layout.unit_id for layout in sim.modbus.layouts.values()})
                count = _machines(len(sim.modbus.machines))
                ok(f"Modbus  {host}:{modbus_port}  units {units[0]}–{units[-1]}  ({count})")
            if retain is not None:
                ok(f"Counters kept in {retain}  ({sim.resumed} of {_machines(machines)} resumed)")
            console.print("Press Ctrl+C to stop." if duration is None else f"Running for {duration:g} s.")
            if duration is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(duration)
        finally:
            await sim.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        console.print("Simulator stopped.")
