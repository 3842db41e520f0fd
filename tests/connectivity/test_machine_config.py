"""Machine settings: valid configs parse, bad ones name the offending field."""

from __future__ import annotations

from typing import Any

import pytest

from factoryos.connectivity.machine_config import (
    DataType,
    ModbusMachine,
    OpcUaMachine,
    RegisterType,
    parse_machine_config,
    parse_machine_configs,
)
from factoryos.connectivity.states import DEFAULT_UNMAPPED_STATE, MachineState
from factoryos.errors import ValidationFailed


def modbus(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "machine_id": "press-1",
        "protocol": "modbus",
        "endpoint": {"host": "10.0.0.5", "unit_id": 3},
        "signals": {
            "good": {"address": 0, "data_type": "uint32", "word_order": "little"},
            "reject": {"address": 2, "data_type": "uint32"},
            "state": {"address": 4},
            "alarm": {"register_type": "input", "address": 9},
        },
        "status_map": {"codes": {"1": "running", "2": "idle", "7": "setup"}},
    }
    data.update(over)
    return data


def opcua(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "machine_id": "lathe-2",
        "protocol": "opcua",
        "endpoint": {"url": "opc.tcp://plc-7:4840/ua"},
        "signals": {"good": "ns=2;s=Lathe.Good", "reject": "ns=2;i=1001", "state": "ns=2;s=Lathe.State"},
    }
    data.update(over)
    return data


def test_modbus_machine_parses_with_defaults() -> None:
    machine = parse_machine_config(modbus())
    assert isinstance(machine, ModbusMachine)
    assert machine.poll_interval == 1.0
    assert machine.endpoint.port == 502 and machine.endpoint.unit_id == 3
    assert machine.signals.good.data_type is DataType.UINT32 and machine.signals.good.word_order == "little"
    assert machine.signals.state.register_type is RegisterType.HOLDING
    assert machine.signals.alarm is not None and machine.signals.alarm.register_type is RegisterType.INPUT
    assert machine.status_map.state_for(7) is MachineState.SETUP
    assert machine.status_map.state_for(42) is DEFAULT_UNMAPPED_STATE


def test_opcua_machine_parses() -> None:
    machine = parse_machine_config(opcua(poll_interval=0.5))
    assert isinstance(machine, OpcUaMachine)
    assert machine.signals.alarm is None
    assert machine.endpoint.security.policy == "None"


@pytest.mark.parametrize(
    ("data", "field", "phrase"),
    [
        (modbus(protocol="profinet"), "protocol", "modbus"),
        (modbus(poll_interval=0), "poll_interval", "must be at least"),
        (modbus(endpoint={"host": "h", "port": 70000}), "endpoint.port", "must be at most"),
        (modbus(endpoint={"host": "h", "unit_id": 256}), "endpoint.unit_id", "must be at most"),
        (
            modbus(signals={"good": {"address": 1}, "reject": {"address": 70000}, "state": {"address": 4}}),
            "signals.reject.address",
            "must be at most",
        ),
        (
            modbus(
                signals={
                    "good": {"address": 65535, "data_type": "float32"},
                    "reject": {"address": 0},
                    "state": {"address": 1},
                }
            ),
            "signals.good",
            "runs past 65535",
        ),
        (
            modbus(
                signals={
                    "good": {"register_type": "coil", "address": 1, "data_type": "uint32"},
                    "reject": {"address": 0},
                    "state": {"address": 1},
                }
            ),
            "signals.good",
            "single bits",
        ),
        (
            modbus(
                signals={
                    "good": {"address": 1, "data_type": "int64"},
                    "reject": {"address": 0},
                    "state": {"address": 1},
                }
            ),
            "signals.good.data_type",
            "uint16",
        ),
        (modbus(signals={"good": {"address": 1}, "reject": {"address": 0}}), "signals.state", "required"),
        (modbus(status_map={"codes": {"3": "offline"}}), "status_map.codes", "set by the poller"),
        (modbus(status_map={"codes": {"3": "broken"}}), "status_map.codes.3", "running"),
        (opcua(endpoint={"url": "http://plc:4840"}), "endpoint.url", "pattern"),
        (
            opcua(signals={"good": "ns=2;x=oops", "reject": "i=1", "state": "i=2"}),
            "signals.good",
            "not an OPC-UA node id",
        ),
        (opcua(endpoint={"url": "opc.tcp://plc:4840", "username": "op"}), "endpoint", "username and password"),
        (
            opcua(
                endpoint={
                    "url": "opc.tcp://plc:4840",
                    "security": {"policy": "Basic256Sha256", "mode": "SignAndEncrypt"},
                }
            ),
            "endpoint.security",
            "client_certificate, client_private_key, server_certificate",
        ),
        (
            opcua(endpoint={"url": "opc.tcp://plc:4840", "security": {"policy": "Basic128Rsa15"}}),
            "endpoint.security.policy",
            "Basic256Sha256",
        ),
    ],
)
def test_invalid_settings_name_the_field(data: dict[str, Any], field: str, phrase: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_machine_config(data)
    error = info.value
    assert error.code == "invalid_machine_config"
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert phrase in str(error)


def test_secured_opcua_settings_need_all_files(tmp_path) -> None:
    security = {
        "policy": "Basic256Sha256",
        "mode": "Sign",
        "client_certificate": str(tmp_path / "c.der"),
        "client_private_key": str(tmp_path / "c.pem"),
        "server_certificate": str(tmp_path / "s.der"),
    }
    machine = parse_machine_config(opcua(endpoint={"url": "opc.tcp://plc:4840", "security": security}))
    assert isinstance(machine, OpcUaMachine)
    assert machine.endpoint.security.mode == "Sign"


def test_list_errors_carry_the_index_and_duplicates_are_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_machine_configs([modbus(), opcua(poll_interval=-1)])
    assert info.value.field == "[1].poll_interval"

    with pytest.raises(ValidationFailed) as info:
        parse_machine_configs([modbus(), modbus()])
    assert info.value.field == "[1].machine_id" and "duplicate" in str(info.value)


def test_endpoint_keys_group_machines_that_can_share_a_connection() -> None:
    a = parse_machine_config(modbus(endpoint={"host": "gw", "unit_id": 1}))
    b = parse_machine_config(modbus(machine_id="b", endpoint={"host": "gw", "unit_id": 2}))
    c = parse_machine_config(modbus(machine_id="c", endpoint={"host": "gw", "port": 503}))
    assert a.endpoint.key == b.endpoint.key != c.endpoint.key
    u = parse_machine_config(opcua(endpoint={"url": "opc.tcp://x:1", "username": "a", "password": "p"}))
    v = parse_machine_config(opcua(machine_id="v", endpoint={"url": "opc.tcp://x:1", "username": "a", "password": "q"}))
    assert u.endpoint.key != v.endpoint.key
    assert "p" not in repr(u.endpoint.password)
