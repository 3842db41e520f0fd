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


def test_host_networks_read_the_kernel_route_table(tmp_path) -> None:
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"  # default: ignored
        "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"  # 192.168.0.0/24
        "ens4\t000010AC\t00000000\t0001\t0\t0\t0\t0000F0FF\t0\t0\t0\n"  # 172.16.0.0/12, a plant LAN
    )
    found = network.host_networks(table)
    assert ipaddress.IPv4Network("192.168.0.0/24") in found and ipaddress.IPv4Network("172.16.0.0/12") in found
    assert ipaddress.IPv4Network("0.0.0.0/0") not in found
    assert ipaddress.IPv4Network("127.0.0.1/32") in found  # the interfaces' own addresses too


def test_frontend_subnet_avoids_every_network_in_use() -> None:
    assert network.choose_frontend_subnet([]) == "172.31.255.0/24"
    taken = ["172.31.255.0/24", "172.31.254.128/25", "10.0.0.0/8", "172.17.0.0/16"]
    assert network.choose_frontend_subnet(taken) == "172.31.253.0/24"
    with pytest.raises(InstallError, match="FACTORYOS_FRONTEND_SUBNET") as caught:
        network.choose_frontend_subnet(["172.16.0.0/12"])
    assert caught.value.code == "subnet_exhausted"
