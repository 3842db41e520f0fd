"""The fields of a machine's connection settings, and the request body they make.

Every field's id is `cf-<protocol>-<api field path with dots as dashes>` (or `cf-<field>` for
the common ones), so a validation error from the server, which names the field (e.g.
`endpoint.port`, `signals.good.address`), leads straight to the widget to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

SIGNALS = ("good", "reject", "state", "alarm")  # alarm is optional
REGISTER_TYPES = ("holding", "input", "coil", "discrete")
DATA_TYPES = ("uint16", "int16", "uint32", "int32", "uint64", "float32", "float64")
ORDERS = ("big", "little")
POLICIES = ("None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss")
MODES = ("Sign", "SignAndEncrypt")
ACQUISITIONS = ("polling", "subscription")
BANDED = ("state", "alarm")  # signals that may take a deadband; counters never do (they are totals)
SECURITY_FILES = (("client_certificate", "Client cert"), ("client_private_key", "Client key"),
                  ("server_certificate", "Server cert"))  # fmt: skip


def field_id(protocol: str | None, field: str) -> str:
    return f"cf-{protocol}-{field}".replace(".", "-") if protocol else f"cf-{field}".replace(".", "-")


def _row(*parts: Widget, classes: str = "form-row") -> Horizontal:
    return Horizontal(*parts, classes=classes)


def _label(text: str, short: bool = False) -> Label:
    return Label(text, classes="form-label auto" if short else "form-label")


def _select(options: tuple[str, ...], id: str, *, blank: bool = False, compact: bool = False,
            classes: str | None = None) -> Select[str]:  # fmt: skip
    return Select([(o, o) for o in options], id=id, allow_blank=blank, value=Select.NULL if blank else options[0],
                  compact=compact, classes=classes)  # fmt: skip


def modbus_fields() -> Vertical:
    p = "modbus"
    signal_rows = [
        _row(Static("Signal", classes="cf-col-name"), Static("Register", classes="cf-col-type"),
             Static("Address", classes="cf-col-addr"), Static("Data", classes="cf-col-data"),
             Static("Bytes", classes="cf-col-order"), Static("Words", classes="cf-col-order"),
             Static("Scale", classes="cf-col-scale"), classes="cf-signal cf-header")  # fmt: skip
    ]
    for name in SIGNALS:
        f = f"signals.{name}"
        signal_rows.append(_row(
            Label(name + ("" if name != "alarm" else "?"), classes="cf-col-name"),
            _select(REGISTER_TYPES, field_id(p, f"{f}.register_type"), compact=True, classes="cf-col-type"),
            Input(placeholder="0" if name != "alarm" else "none", id=field_id(p, f"{f}.address"), compact=True,
                  classes="cf-col-addr"),
            _select(DATA_TYPES, field_id(p, f"{f}.data_type"), compact=True, classes="cf-col-data"),
            _select(ORDERS, field_id(p, f"{f}.byte_order"), compact=True, classes="cf-col-order"),
            _select(ORDERS, field_id(p, f"{f}.word_order"), compact=True, classes="cf-col-order"),
            Input(placeholder="1", id=field_id(p, f"{f}.scale"), compact=True, classes="cf-col-scale"),
            classes="cf-signal",
        ))
    return Vertical(
        Static("Modbus TCP endpoint", classes="section-title"),
        _row(_label("Host"), Input(placeholder="plc.local or 10.0.0.5", id=field_id(p, "endpoint.host")),
             _label("Port", True), Input(placeholder="502", id=field_id(p, "endpoint.port"), classes="cf-small")),
        _row(_label("Unit id"), Input(placeholder="1", id=field_id(p, "endpoint.unit_id"), classes="cf-small"),
             _label("Timeout", True), Input(placeholder="2 s", id=field_id(p, "endpoint.timeout"), classes="cf-small")),
        Static("Signals: register, address (40.3 = bit 3), data type, byte/word order, scale",
               classes="section-title"),
        *signal_rows,
        _deadband_row(p, lambda name: f"signals.{name}.deadband"),
        id="cf-modbus",
    )


def _deadband_row(protocol: str, path: Callable[[str], str]) -> Horizontal:
    """Deadband of the state and alarm values: changes up to it are ignored."""
    parts: list[Widget] = [_label("Deadband")]
    for name in BANDED:
        parts += [_label(name, True), Input(placeholder="none", id=field_id(protocol, path(name)), classes="cf-small")]
    return _row(*parts)


def opcua_fields() -> Vertical:
    p = "opcua"
    rows: list[Widget] = [
        Static("OPC-UA endpoint", classes="section-title"),
        _row(_label("URL"), Input(placeholder="opc.tcp://plc.local:4840", id=field_id(p, "endpoint.url")),
             _label("Timeout", True), Input(placeholder="4 s", id=field_id(p, "endpoint.timeout"), classes="cf-small")),
        _row(_label("User"), Input(placeholder="anonymous", id=field_id(p, "endpoint.username")),
             _label("Pass", True), Input(password=True, id=field_id(p, "endpoint.password"))),
        _row(_label("Values"), _select(ACQUISITIONS, field_id(p, "endpoint.acquisition")),
             _label("Publish s", True),
             Input(placeholder="0.5", id=field_id(p, "endpoint.publishing_interval"), classes="cf-small")),
        _row(_label("Security"), _select(POLICIES, field_id(p, "endpoint.security.policy")),
             _label("Mode", True), _select(MODES, field_id(p, "endpoint.security.mode"), blank=True)),
    ]
    for name, text in SECURITY_FILES:
        rows.append(_row(_label(text), Input(placeholder="absolute path on the server host",
                                             id=field_id(p, f"endpoint.security.{name}"))))
    key_password = Input(password=True, id=field_id(p, "endpoint.security.private_key_password"))
    rows.append(_row(_label("Key pass"), key_password))
    rows.append(Static("Signals: OPC-UA node ids, e.g. ns=2;s=Press1.Good", classes="section-title"))
    for name in SIGNALS:
        rows.append(_row(_label(name + ("" if name != "alarm" else "?")),
                         Input(placeholder="ns=2;s=…" if name != "alarm" else "none",
                               id=field_id(p, f"signals.{name}"))))
    rows.append(_deadband_row(p, lambda name: f"signals.deadband.{name}"))
    return Vertical(*rows, id="cf-opcua")


# -- reading and filling ---------------------------------------------------------------------


def number(text: str) -> Any:
    """A number when it is one; otherwise the text as typed, for the server to name the field."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


class FieldReader:
    """Reads the form's widgets by field path; blank fields are left out (server defaults)."""

    def __init__(self, root: Widget, protocol: str) -> None:
        self.root, self.protocol = root, protocol

    def text(self, field: str) -> str:
        return self.root.query_one(f"#{field_id(self.protocol, field)}", Input).value.strip()

    def choice(self, field: str) -> str | None:
        value = self.root.query_one(f"#{field_id(self.protocol, field)}", Select).value
        return value if isinstance(value, str) else None

    def put(self, target: dict[str, Any], key: str, field: str, *, numeric: bool = False) -> None:
        value = self.text(field)
        if value:
            target[key] = number(value) if numeric else value


def register_address(text: str) -> dict[str, Any]:
    """"40" is register 40; "40.3" is bit 3 of register 40 (a flag in a status word), as PLC
    manuals write it. Anything else goes to the server as typed, which names the field."""
    head, dot, tail = text.partition(".")
    if dot and head.isdigit() and tail.isdigit():
        return {"address": int(head), "bit": int(tail)}
    return {"address": number(text)}


def modbus_body(r: FieldReader) -> tuple[dict[str, Any], dict[str, Any]]:
    endpoint: dict[str, Any] = {"host": r.text("endpoint.host")}
    for key in ("port", "unit_id", "timeout"):
        r.put(endpoint, key, f"endpoint.{key}", numeric=True)
    signals: dict[str, Any] = {}
    for name in SIGNALS:
        f = f"signals.{name}"
        if name == "alarm" and not r.text(f"{f}.address"):
            continue
        signal = register_address(r.text(f"{f}.address"))
        for key in ("register_type", "data_type", "byte_order", "word_order"):
            if (choice := r.choice(f"{f}.{key}")) is not None:
                signal[key] = choice
        r.put(signal, "scale", f"{f}.scale", numeric=True)
        if name in BANDED:
            r.put(signal, "deadband", f"{f}.deadband", numeric=True)
        signals[name] = signal
    return endpoint, signals


def opcua_body(r: FieldReader) -> tuple[dict[str, Any], dict[str, Any]]:
    endpoint: dict[str, Any] = {"url": r.text("endpoint.url")}
    r.put(endpoint, "timeout", "endpoint.timeout", numeric=True)
    endpoint["acquisition"] = r.choice("endpoint.acquisition") or "polling"
    if endpoint["acquisition"] == "subscription":  # polling has no publishing interval
        r.put(endpoint, "publishing_interval", "endpoint.publishing_interval", numeric=True)
    r.put(endpoint, "username", "endpoint.username")
    r.put(endpoint, "password", "endpoint.password")  # left out: the stored one is kept
    security: dict[str, Any] = {"policy": r.choice("endpoint.security.policy") or "None"}
    if security["policy"] != "None":
        security["mode"] = r.choice("endpoint.security.mode")
        for name, _ in SECURITY_FILES:
            r.put(security, name, f"endpoint.security.{name}")
        r.put(security, "private_key_password", "endpoint.security.private_key_password")
    endpoint["security"] = security
    signals: dict[str, Any] = {name: r.text(f"signals.{name}") for name in SIGNALS
                               if name != "alarm" or r.text(f"signals.{name}")}
    deadband: dict[str, Any] = {}
    for name in BANDED:
        r.put(deadband, name, f"signals.deadband.{name}", numeric=True)
    if deadband:
        signals["deadband"] = deadband
    return endpoint, signals


def fill(root: Widget, protocol: str, endpoint: dict[str, Any], signals: dict[str, Any]) -> None:
    """Show stored settings (passwords are never sent back: their fields stay empty)."""

    def set_text(field: str, value: Any) -> None:
        if value is not None:
            root.query_one(f"#{field_id(protocol, field)}", Input).value = f"{value:g}" if isinstance(
                value, float) else str(value)

    def set_choice(field: str, value: Any) -> None:
        if value is not None:
            root.query_one(f"#{field_id(protocol, field)}", Select).value = str(value)

    if protocol == "modbus":
        for key in ("host", "port", "unit_id", "timeout"):
            set_text(f"endpoint.{key}", endpoint.get(key))
        for name in SIGNALS:
            signal = signals.get(name) or {}
            if signal.get("bit") is not None:  # a flag of a status word, as PLC manuals write it
                set_text(f"signals.{name}.address", f"{signal.get('address')}.{signal['bit']}")
            else:
                set_text(f"signals.{name}.address", signal.get("address"))
            set_text(f"signals.{name}.scale", signal.get("scale"))
            if name in BANDED:
                set_text(f"signals.{name}.deadband", signal.get("deadband"))
            for key in ("register_type", "data_type", "byte_order", "word_order"):
                set_choice(f"signals.{name}.{key}", signal.get(key))
        return
    for key in ("url", "timeout", "username", "publishing_interval"):
        set_text(f"endpoint.{key}", endpoint.get(key))
    set_choice("endpoint.acquisition", endpoint.get("acquisition"))
    security = endpoint.get("security") or {}
    set_choice("endpoint.security.policy", security.get("policy"))
    set_choice("endpoint.security.mode", security.get("mode"))
    for name, _ in SECURITY_FILES:
        set_text(f"endpoint.security.{name}", security.get(name))
    for name in SIGNALS:
        set_text(f"signals.{name}", signals.get(name))
    for name in BANDED:
        set_text(f"signals.deadband.{name}", (signals.get("deadband") or {}).get(name))
