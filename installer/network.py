"""Which LAN address the installation listens on: detected, confirmed or `--bind`."""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from collections.abc import Iterable
from pathlib import Path

from installer.errors import InstallError

_SIOCGIFADDR = 0x8915
# Any routable address works: connect() on UDP sends nothing, it only picks a route.
_PROBE_ADDRESS = ("192.0.2.1", 9)


def interface_addresses() -> dict[str, str]:
    """IPv4 address of every interface that has one, loopback included."""
    found: dict[str, str] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                raw = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:  # interface without an IPv4 address
                continue
            found[name] = socket.inet_ntoa(raw[20:24])
    return found


def lan_addresses() -> list[str]:
    """Non-loopback IPv4 addresses, container bridges last."""
    addresses = [(name, ip) for name, ip in interface_addresses().items() if not ipaddress.ip_address(ip).is_loopback]
    bridges = ("docker", "br-", "veth", "virbr")
    addresses.sort(key=lambda item: item[0].startswith(bridges))
    return [ip for _, ip in addresses]


def detect_lan_ip() -> str:
    """The address of the default route's interface; else the first LAN address; else loopback.

    Air-gapped hosts often have no default route, hence the fallbacks.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE_ADDRESS)
            routed = probe.getsockname()[0]
        if not ipaddress.ip_address(routed).is_loopback:
            return routed
    except OSError:
        pass
    candidates = lan_addresses()
    return candidates[0] if candidates else "127.0.0.1"


def validate_bind(address: str) -> str:
    """`--bind` must be an IPv4 address of this host, loopback, or 0.0.0.0 (all)."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        raise InstallError(
            f"--bind {address!r} is not an IP address (example: --bind 192.168.1.20)", code="bind_invalid"
        ) from None
    if parsed.version != 4:
        raise InstallError(f"--bind {address}: only IPv4 addresses are supported", code="bind_invalid")
    text = str(parsed)
    if parsed.is_unspecified or parsed.is_loopback:
        return text
    own = sorted(set(interface_addresses().values()))
    if text not in own:
        raise InstallError(
            f"--bind {text} is not an address of this host; its addresses are {', '.join(own)}",
            code="bind_not_local",
        )
    return text


def host_names() -> list[str]:
    """Short host name and fully qualified name (when different), for certificate SANs."""
    names = [socket.gethostname()]
    fqdn = socket.getfqdn()
    if fqdn and fqdn not in names and fqdn != "localhost":
        names.append(fqdn)
    return names


def host_networks(route_table: Path = Path("/proc/net/route")) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this host routes to directly or by a specific route (not the default)."""
    found: list[ipaddress.IPv4Network] = []
    try:
        lines = route_table.read_text().splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        # Little-endian hex, as the kernel prints them.
        destination = socket.inet_ntoa(struct.pack("<L", int(fields[1], 16)))
        mask = socket.inet_ntoa(struct.pack("<L", int(fields[7], 16)))
        if mask == "0.0.0.0":
            continue
        found.append(ipaddress.IPv4Network(f"{destination}/{mask}", strict=False))
    for address in interface_addresses().values():
        found.append(ipaddress.IPv4Network(f"{address}/32"))
    return found


def choose_frontend_subnet(taken: Iterable[str | ipaddress.IPv4Network]) -> str:
    """A /24 in 172.16.0.0/12, from the top down, that overlaps none of `taken` (the host's
    routes and the engine's other networks): Docker hands out that range from the bottom."""
    used = [ipaddress.ip_network(str(net), strict=False) for net in taken]
    used = [net for net in used if net.version == 4]
    for candidate in reversed(list(ipaddress.IPv4Network("172.16.0.0/12").subnets(new_prefix=24))):
        if not any(candidate.overlaps(net) for net in used):  # type: ignore[arg-type]
            return str(candidate)
    raise InstallError(
        "no free /24 in 172.16.0.0/12 for the containers' network: set FACTORYOS_FRONTEND_SUBNET in the .env "
        "to a free private subnet",
        code="subnet_exhausted",
    )
