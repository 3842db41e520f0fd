"""The connection API takes and shows the OPC-UA acquisition mode and the status deadbands, and
refuses bad values as problem+json naming the field."""

from __future__ import annotations

import httpx
import pytest

from tests.accounts import Session
from tests.connectivity.conftest import connection_url as url
from tests.production.plant import problem


def opcua_body(signals: dict | None = None, **endpoint: object) -> dict:
    return {
        "protocol": "opcua",
        "endpoint": {"url": "opc.tcp://press-1.local:4840"} | endpoint,
        "signals": {"good": "ns=2;s=Press1.Good", "reject": "ns=2;s=Press1.Reject", "state": "ns=2;i=1003"}
        | (signals or {}),
    }


def test_subscription_mode_and_deadband_are_stored_and_shown(api: httpx.Client, owner: Session,
                                                             machine: dict) -> None:
    body = opcua_body({"deadband": {"state": 0.5}}, acquisition="subscription", publishing_interval=0.25)
    r = api.put(url(machine), json=body, headers=owner.headers)
    assert r.status_code == 200, r.text
    shown = api.get(url(machine), headers=owner.headers).json()
    assert shown["endpoint"]["acquisition"] == "subscription"
    assert shown["endpoint"]["publishing_interval"] == 0.25
    assert shown["signals"]["deadband"] == {"state": 0.5, "alarm": None}

    r = api.put(url(machine), json=opcua_body(), headers=owner.headers)  # back to the default
    assert r.status_code == 200, r.text
    shown = r.json()
    assert (shown["endpoint"]["acquisition"], shown["endpoint"]["publishing_interval"]) == ("polling", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (opcua_body(acquisition="push"), "endpoint.acquisition"),
        (opcua_body(acquisition="subscription", publishing_interval=0.01), "endpoint.publishing_interval"),
        (opcua_body(publishing_interval=1.0), "endpoint.publishing_interval"),  # polling has none
        (opcua_body({"deadband": {"good": 2}}), "signals.deadband"),  # counters are totals
        (opcua_body({"deadband": {"state": -1}}), "signals.deadband.state"),
    ],
)
def test_invalid_subscription_settings_name_the_field(api: httpx.Client, owner: Session, machine: dict,
                                                      body: dict, field: str) -> None:
    problem(api.put(url(machine), json=body, headers=owner.headers), 422, "invalid_machine_config", field)
