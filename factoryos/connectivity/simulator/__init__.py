"""Simulated machines behind real OPC-UA and Modbus TCP servers, for demos and tests."""

from factoryos.connectivity.simulator.machine import SIM_STATUS_MAP, SimCode, SimMachine
from factoryos.connectivity.simulator.modbus_server import RegisterLayout, SimModbusServer
from factoryos.connectivity.simulator.opcua_server import OpcUaServerSecurity, SimOpcUaServer, client_security_for
from factoryos.connectivity.simulator.simulator import SimProtocol, Simulator

__all__ = [
    "SIM_STATUS_MAP",
    "OpcUaServerSecurity",
    "RegisterLayout",
    "SimCode",
    "SimMachine",
    "SimModbusServer",
    "SimOpcUaServer",
    "SimProtocol",
    "Simulator",
    "client_security_for",
]
