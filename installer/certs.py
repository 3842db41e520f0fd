"""`factoryos tls renew|import`: rotate the installation's HTTPS certificate and reload nginx
(no restart: connections in flight finish on the old one)."""

from __future__ import annotations

from pathlib import Path

from installer import network, tls
from installer.errors import InstallError
from installer.layout import Layout
from installer.stack import Stack


def _installed(directory: Path) -> Layout:
    layout = Layout(directory.resolve())
    if layout.read_state() is None:
        raise InstallError(f"no FactoryOS installation in {layout.root}", code="not_installed")
    return layout


def renew(directory: Path) -> str:
    """A new self-signed server certificate from the installation's CA, for the same names."""
    layout = _installed(directory)
    state = layout.read_state() or {}
    bind = str(state.get("bind_ip") or "127.0.0.1")
    host = network.detect_lan_ip() if bind == "0.0.0.0" else bind
    ips = list(dict.fromkeys([host, "127.0.0.1"]))
    names = [*network.host_names(), "localhost"]
    tls.ensure_self_signed(layout.tls, ips, names, force=True)
    return f"new certificate for {', '.join([*ips, *names])}, from the CA clients already trust ({layout.tls.ca_cert})"


def import_certificate(directory: Path, cert: Path, key: Path) -> str:
    """Your certificate (PEM, with its chain) and key instead of the self-signed one."""
    layout = _installed(directory)
    state = layout.read_state() or {}
    bind = str(state.get("bind_ip") or "127.0.0.1")
    host = network.detect_lan_ip() if bind == "0.0.0.0" else bind
    uncovered = tls.install_user_certificate(layout.tls, cert, key, [host])
    return "your certificate is in place" + (f" (it does not name {', '.join(uncovered)})" if uncovered else "")


def reload_nginx(directory: Path) -> None:
    run = Stack(Layout(directory.resolve()).root).run("exec", "-T", "nginx", "nginx", "-s", "reload", timeout=60)
    if run.returncode != 0:
        raise InstallError(f"the certificate is written, but nginx was not reloaded ({run.stderr.strip()[-200:]}): "
                           "run `factoryos install` to restart it", code="nginx_reload_failed")  # fmt: skip
