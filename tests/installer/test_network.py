"""LAN address detection and --bind validation against this host's real interfaces."""

from __future__ import annotations

import ipaddress

import pytest

from installer import network
from installer.errors import InstallError


def test_interfaces_include_loopback_and_detection_returns_an_own_address() -> None:
    addresses = network.interface_addresses()
    assert "127.0.0.1" in addresses.values()
    detected = network.detect_lan_ip()
    assert detected in addresses.values()
    assert all(not ipaddress.ip_address(ip).is_loopback for ip in network.lan_addresses())


def test_bind_accepts_own_addresses() -> None:
    assert network.validate_bind("127.0.0.1") == "127.0.0.1"
    assert network.validate_bind(" 0.0.0.0 ") == "0.0.0.0"
    for ip in network.lan_addresses():
        assert network.validate_bind(ip) == ip


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("192.0.2.77", "bind_not_local", "not an address of this host"),
        ("eth0", "bind_invalid", "not an IP address"),
        ("::1", "bind_invalid", "only IPv4"),
    ],
)
def test_bind_refuses_foreign_or_malformed(value: str, code: str, message: str) -> None:
    with pytest.raises(InstallError, match=message) as caught:
        network.validate_bind(value)
    assert caught.value.code == code


def test_host_names_start_with_the_short_name() -> None:
    import socket

    assert network.host_names()[0] == socket.gethostname()
