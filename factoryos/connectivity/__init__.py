"""Machine connectivity: OPC-UA (polled or by subscription) and Modbus TCP polling, and MQTT
ingest (Sparkplug B or JSON topics), into count, state and health events.

Light, dependency-free names are re-exported here; the poller, drivers and simulator
live in their modules (they import asyncua, pymodbus and aiomqtt):

- `factoryos.connectivity.runtime.PollerRuntime` — the service: settings from the database,
  poller → spool → `DbSink`; run by the server's lifespan or `factoryos poller`
- `factoryos.connectivity.connections` — connection settings in the database (API side)
- `factoryos.connectivity.service.ConnectivityService` — poller + spool + any sink, fixed machines
- `factoryos.connectivity.poller.Poller` — polling only, events to a callback
- `factoryos.connectivity.mqtt_driver.MqttDriver` — a broker's pushed values, read like a PLC's
- `factoryos.connectivity.opcua_subscription` — OPC-UA subscription mode: pushed changes with
  their source timestamps
- `factoryos.connectivity.probe` — *Test connection*: one read with unsaved settings
- `factoryos.connectivity.simulator.Simulator` — simulated machines on real servers
"""

from factoryos.connectivity.events import CountDelta, Event, Health, RejectedEvents, Sink, StateChange
from factoryos.connectivity.machine_config import (
    MachineConfig,
    ModbusMachine,
    MqttMachine,
    OpcUaMachine,
    StatusMapping,
    parse_machine_config,
    parse_machine_configs,
)
from factoryos.connectivity.states import DEFAULT_UNMAPPED_STATE, MachineState

__all__ = [
    "DEFAULT_UNMAPPED_STATE",
    "CountDelta",
    "Event",
    "Health",
    "MachineConfig",
    "MachineState",
    "ModbusMachine",
    "MqttMachine",
    "OpcUaMachine",
    "RejectedEvents",
    "Sink",
    "StateChange",
    "StatusMapping",
    "parse_machine_config",
    "parse_machine_configs",
]
